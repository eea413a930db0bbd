import random
import sys
import types

import numpy as np
import pytest
import torch

import invlab
from invlab import env


@pytest.fixture(autouse=True)
def fresh_announcements(monkeypatch):
    monkeypatch.setattr(env, "_announced", set())


def _fake_backends(monkeypatch, cuda: bool, mps: bool):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Fake GPU")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (True, False, "cuda"),
                                                 (False, True, "mps"), (False, False, "cpu")])
def test_device_fallback_chain(monkeypatch, capsys, cuda, mps, expected):
    _fake_backends(monkeypatch, cuda, mps)
    assert invlab.device().type == expected
    assert f"invlab: using {expected}" in capsys.readouterr().out


def test_device_says_once(monkeypatch, capsys):
    _fake_backends(monkeypatch, False, False)
    invlab.device()
    invlab.device()
    assert capsys.readouterr().out.count("invlab: using cpu") == 1
    invlab.device(verbose=False)
    assert capsys.readouterr().out == ""


def test_in_colab_present(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert invlab.in_colab() is True


def test_in_colab_absent(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(env.importlib.util, "find_spec", lambda name: None)
    assert invlab.in_colab() is False


def test_in_colab_without_google_package(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)

    def missing_parent(name):
        raise ModuleNotFoundError("No module named 'google'")
    monkeypatch.setattr(env.importlib.util, "find_spec", missing_parent)
    assert invlab.in_colab() is False


def test_seed_everything_reproduces_all_generators():
    invlab.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(3))
    invlab.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    invlab.seed_everything(124)
    assert not torch.equal(torch.rand(3), a[2])


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), ("3", TypeError),
                                        (True, TypeError)])
def test_seed_everything_rejects_bad_seed(bad, error):
    with pytest.raises(error, match=r"^seed_everything: seed must be an int ≥ 0, got "):
        invlab.seed_everything(bad)
    with pytest.raises(error, match=r"^setup: seed must be an int ≥ 0, got "):
        invlab.setup(bad)


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_is_offline(monkeypatch, value, expected):
    monkeypatch.setenv("INVLAB_OFFLINE", value)
    assert invlab.is_offline() is expected


def test_one_cpu_thread_restores_and_skips_gpus():
    before = torch.get_num_threads()
    with invlab.one_cpu_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    torch.set_num_threads(2)
    try:
        with invlab.one_cpu_thread("cuda"):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    with pytest.raises(TypeError, match=r"^one_cpu_thread: dev must be a torch.device, .*got 0$"):
        with invlab.one_cpu_thread(0):
            pass
    with pytest.raises(ValueError, match=r"^one_cpu_thread: dev must be one of 'cpu', 'cuda', 'mps', got 'gpu'$"):
        with invlab.one_cpu_thread("gpu"):
            pass


def test_invlab_device_overrides_the_choice(monkeypatch, capsys):
    _fake_backends(monkeypatch, True, False)
    monkeypatch.setenv("INVLAB_DEVICE", "cpu")
    assert invlab.device().type == "cpu"
    assert "set by INVLAB_DEVICE" in capsys.readouterr().out
    monkeypatch.setenv("INVLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"^device: the environment variable INVLAB_DEVICE must be "
                                         r"one of 'cpu', 'cuda', 'mps', got 'tpu'$"):
        invlab.device()


def test_cuda_switches_tf32_off(monkeypatch):
    _fake_backends(monkeypatch, True, False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        invlab.device(verbose=False)
        assert torch.get_float32_matmul_precision() == "highest"
        assert torch.backends.cudnn.allow_tf32 is False
    finally:
        torch.set_float32_matmul_precision(before)


def test_warnings_to_stdout(monkeypatch, capsys):
    import warnings
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    invlab.warnings_to_stdout()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("harmless library chatter")
    out = capsys.readouterr()
    assert "harmless library chatter" in out.out and out.err == ""
