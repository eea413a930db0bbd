"""invlab.train.fit: the one training loop the labs share (batches, optimisers, schedules)."""
import math

import pytest
import torch
from torch import nn

from invlab.train import fit


def _regression(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    Y = X @ torch.tensor([[1.0], [-2.0]]) + 0.5
    return X, Y


def test_steps_mode_fits_a_line_and_returns_the_loss_per_step():
    X, Y = _regression()
    net = nn.Linear(2, 1)
    h = fit(net, lambda i: ((net(X[i]) - Y[i]) ** 2).mean(), len(X), steps=300, batch_size=16,
            lr=0.05, progress=False)
    assert h.shape == (300, 1) and h.dtype == torch.float64
    assert h[-20:].mean() < 1e-3 < h[:5].mean()
    assert torch.allclose(net.weight, torch.tensor([[1.0, -2.0]]), atol=0.02)
    assert not net.training                                   # eval mode at the end


def test_epochs_mode_visits_every_row_once_per_epoch_and_weights_the_means():
    seen = []
    net = nn.Linear(1, 1)

    def loss(i):
        seen.append(i.clone())
        return net(torch.zeros(len(i), 1)).sum() * 0, float(len(i))   # logs the batch size
    h = fit(net, loss, 10, epochs=3, batch_size=4, progress=False)
    assert [len(i) for i in seen] == [4, 4, 2] * 3
    for e in range(3):
        assert sorted(torch.cat(seen[3 * e:3 * e + 3]).tolist()) == list(range(10))
    assert h.shape == (3, 2)
    assert torch.allclose(h[:, 1], torch.full((3,), (4 * 4 + 4 * 4 + 2 * 2) / 10, dtype=torch.float64))


def test_seed_generator_and_the_global_rng():
    def draws(**kw):
        got = []
        net = nn.Linear(1, 1)
        fit(net, lambda i: got.append(i.clone()) or net.weight.sum() * 0, 1000, steps=3, batch_size=5,
            progress=False, **kw)
        return torch.cat(got)
    assert torch.equal(draws(seed=1), draws(seed=1)) and not torch.equal(draws(seed=1), draws(seed=2))
    a = draws(seed=None, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, draws(seed=None, generator=torch.Generator().manual_seed(7)))
    net = nn.Linear(1, 1)
    state = torch.get_rng_state()
    fit(net, lambda i: net.weight.sum() * 0, 1000, steps=3, seed=None,
        generator=torch.Generator().manual_seed(7), progress=False)
    assert torch.equal(state, torch.get_rng_state()), "seed=None with a generator must leave the global RNG alone"


def _lrs(**kw):
    lrs = []
    net = nn.Linear(1, 1)

    def update(idx, opt):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()                                  # no gradients: changes nothing
        return 0.0
    fit(net, n=4, steps=100, update=update, lr=0.1, progress=False, **kw)
    return lrs


def test_schedules_one_cycle_peaks_at_lr_and_cosine_decays_to_zero():
    assert _lrs() == [0.1] * 100
    one = _lrs(one_cycle=True, pct_start=0.3)
    assert max(one) == pytest.approx(0.1) and one[0] < 0.01 and one[-1] < 1e-4
    assert abs(one.index(max(one)) - 30) <= 1
    cos = _lrs(cosine=True)
    assert cos[0] == pytest.approx(0.1)
    assert cos[50] == pytest.approx(0.05 * (1 + math.cos(math.pi * 50 / 100)))
    assert all(a >= b for a, b in zip(cos, cos[1:])) and cos[-1] < 1e-4


def test_on_step_counts_every_step_in_both_modes():
    for kw, total in [(dict(steps=7), 7), (dict(epochs=2, batch_size=3), 2 * 4)]:
        calls = []
        net = nn.Linear(1, 1)
        fit(net, lambda i: net.weight.sum() * 0, 10, on_step=calls.append, progress=False, **kw)
        assert calls == list(range(1, total + 1))


def test_max_norm_clips_and_weight_decay_shrinks():
    net = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    w0 = net.weight.detach().clone()
    # loss = 100·sum(w): gradient 100 per entry (norm 173); clipped to 0.5; SGD lr 1, no momentum
    fit(net, lambda i: 100 * net.weight.sum(), 1, steps=1, lr=1.0, optimizer="sgd", momentum=0.0,
        max_norm=0.5, progress=False)
    assert float((w0 - net.weight.detach()).norm()) == pytest.approx(0.5, rel=1e-5)
    with torch.no_grad():
        net.weight.fill_(1.0)
    fit(net, lambda i: net.weight.sum() * 0, 1, steps=10, lr=0.1, optimizer="sgd", momentum=0.0,
        weight_decay=0.5, progress=False)
    assert torch.allclose(net.weight, torch.full((1, 3), (1 - 0.1 * 0.5) ** 10))


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(steps=1, epochs=1), ValueError, "exactly one of steps and epochs"),
    (dict(), ValueError, "exactly one of steps and epochs"),
    (dict(steps=1, loss=None), ValueError, "exactly one of loss"),
    (dict(steps=1, one_cycle=True, cosine=True), ValueError, "at most one schedule"),
    (dict(steps=1, generator=3), TypeError, "fit: generator must be a torch.Generator"),
    (dict(steps=1, progress="yes"), TypeError, "fit: progress"),
    (dict(steps=0), ValueError, "fit: steps"),
    (dict(steps=1, optimizer="lbfgs"), ValueError, "fit: optimizer"),
    (dict(steps=1, weight_decay=-1.0), ValueError, "fit: weight_decay"),
    (dict(steps=1, on_step=5), TypeError, "fit: on_step"),
    (dict(steps=1, loss=5), TypeError, "fit: loss"),
    (dict(steps=1, loss=None, update="step"), TypeError, "fit: update"),
    (dict(steps=1, lr=0.0), ValueError, "fit: lr"),
    (dict(steps=1, max_norm=0.0), ValueError, "fit: max_norm"),
    (dict(epochs=0), ValueError, "fit: epochs"),
    (dict(steps=1, batch_size=0), ValueError, "fit: batch_size"),
])
def test_bad_arguments_are_named(kw, exc, msg):
    net = nn.Linear(1, 1)
    kw = {"loss": lambda i: net.weight.sum(), **kw}
    with pytest.raises(exc, match=msg):
        fit(net, n=4, **kw)
    with pytest.raises(TypeError, match="fit: model must be"):
        fit(lambda x: x, lambda i: net.weight.sum(), 4, steps=1)


def test_the_smallest_legal_values_run():
    net = nn.Linear(1, 1)
    h = fit(net, lambda i: net(torch.ones(len(i), 1)).sum(), 1, epochs=1, batch_size=1, progress=False)
    assert h.shape == (1, 1)


@pytest.mark.parametrize("n, batch_size", [(9, 3), (10, 3), (10, 4)])
def test_epoch_schedules_end_on_the_last_batch(n, batch_size):
    """total steps = epochs · ceil(n / batch_size): the cosine reaches 0 exactly at the last batch
    (a wrong count leaves it short of 0, or runs past T_max where it rises again)."""
    lrs = []
    net = nn.Linear(1, 1)

    def update(idx, opt):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        return 0.0
    fit(net, n=n, epochs=2, batch_size=batch_size, update=update, lr=0.1, cosine=True, progress=False)
    per_epoch = -(-n // batch_size)
    assert len(lrs) == 2 * per_epoch
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert lrs[-1] == pytest.approx(0.05 * (1 + math.cos(math.pi * (len(lrs) - 1) / len(lrs))))


def test_train_mode_during_fit_eval_after_and_the_progress_bar_on_stderr(capfd):
    net = nn.Sequential(nn.Linear(1, 1), nn.Dropout(0.0)).eval()
    modes = []
    fit(net, lambda i: modes.append(net.training) or net(torch.ones(1, 1)).sum(), 4, steps=3, progress=False)
    assert modes == [True] * 3 and not net.training
    assert capfd.readouterr().err == ""                   # progress=False: nothing on stderr
    fit(net, lambda i: net(torch.ones(1, 1)).sum(), 4, steps=3, desc="bar")
    assert "bar" in capfd.readouterr().err                # the bar (tqdm.auto, stderr outside notebooks)


def test_seed_defaults_to_zero():
    def draws(**kw):
        got = []
        net = nn.Linear(1, 1)
        fit(net, lambda i: got.append(i.clone()) or net.weight.sum() * 0, 1000, steps=2, progress=False, **kw)
        return torch.cat(got)
    assert torch.equal(draws(), draws(seed=0))


def test_train_classifier_is_fit_on_the_cross_entropy_and_accuracy_counts_every_row():
    """train_classifier gives fit's numbers for the cross-entropy (bit for bit: labs 1 and 5 kept
    theirs); accuracy counts the last, smaller batch, leaves the mode in eval and makes no graph."""
    from invlab.train import accuracy, train_classifier
    X, y = torch.randn(50, 3), torch.randint(0, 4, (50,))
    torch.manual_seed(1)
    a = nn.Linear(3, 4)
    b = nn.Linear(3, 4)
    b.load_state_dict(a.state_dict())
    got = train_classifier(a, X, y, epochs=3, lr=0.1, batch_size=16, optimizer="adam", seed=5, progress=False)
    want = fit(b, lambda i: nn.functional.cross_entropy(b(X[i]), y[i]), 50, epochs=3, batch_size=16, lr=0.1,
               optimizer="adam", seed=5, progress=False)[:, 0]
    assert torch.equal(got, want) and all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    right = (a(X).argmax(1) == y).sum().item()
    a.train()
    for bs in (7, 16, 50, 500):                 # 50 rows: the last batch is smaller for 7 and 16
        assert accuracy(a, X, y, batch_size=bs) == right / 50
    assert not a.training


@pytest.mark.parametrize("call, exc, msg", [
    (lambda A: A(nn.Linear(2, 2), torch.zeros(3, 2), torch.zeros(2, dtype=torch.long)), ValueError,
     "X and y need one label per row, got 3 rows and 2 labels"),
    (lambda A: A(nn.Linear(2, 2), [[0.0, 0.0]], torch.zeros(1, dtype=torch.long)), TypeError, "X must be"),
    (lambda A: A("net", torch.zeros(1, 2), torch.zeros(1, dtype=torch.long)), TypeError, "net must be"),
])
def test_classifier_helpers_name_bad_arguments(call, exc, msg):
    from invlab.train import accuracy, train_classifier
    for fn, name in ((accuracy, "accuracy"), (lambda *a: train_classifier(*a, epochs=1, lr=0.1), "train_classifier")):
        with pytest.raises(exc, match=f"{name}: {msg}" if msg.startswith("X and") else msg):
            call(fn)


def test_classifier_helpers_defaults_and_edges(capfd):
    """train_classifier's defaults are lab 1's recipe (SGD, momentum 0.9, batches of 64, seed 0,
    a progress bar); accuracy's default batch is 500 rows, batches of one row work, and a net that
    is right everywhere scores exactly 1 (no row skipped)."""
    from invlab.train import accuracy, train_classifier
    X, y = torch.randn(130, 3), torch.randint(0, 3, (130,))
    torch.manual_seed(2)
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.load_state_dict(a.state_dict())
    got = train_classifier(a, X, y, epochs=2, lr=0.05)
    assert "training Linear" in capfd.readouterr().err              # the bar, on stderr
    want = fit(b, lambda i: nn.functional.cross_entropy(b(X[i]), y[i]), 130, epochs=2, batch_size=64, lr=0.05,
               optimizer="sgd", momentum=0.9, seed=0, progress=False)[:, 0]
    assert torch.equal(got, want)

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.w, self.sizes = nn.Parameter(torch.zeros(())), []

        def forward(self, x):
            self.sizes.append(len(x))
            return nn.functional.one_hot(x[:, 0].long(), 3).float() + 0 * self.w

    spy, Xs = Spy(), torch.zeros(1001, 2)
    Xs[:, 0] = torch.arange(1001) % 3
    assert accuracy(spy, Xs, (torch.arange(1001) % 3)) == 1.0 and spy.sizes == [500, 500, 1]
    spy.sizes.clear()
    assert accuracy(spy, Xs[:4], torch.tensor([0, 1, 2, 1]), batch_size=1) == 0.75 and spy.sizes == [1] * 4
    for fn in (accuracy, lambda *a: train_classifier(*a, epochs=1, lr=0.1)):
        with pytest.raises(TypeError, match="y must be"):
            fn(nn.Linear(2, 2), torch.zeros(2, 2), [0, 1])
