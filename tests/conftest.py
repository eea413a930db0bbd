"""Suite-wide settings: offline, headless, no network; shared fixtures."""
import os
import socket

os.environ["INVLAB_OFFLINE"] = "1"          # load_mnist must never download in tests
os.environ.setdefault("MPLBACKEND", "Agg")   # notebooks' kernels inherit both

import pytest
import torch

from course.notebook import meta

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs two workers on two cores: one thread each
    torch.set_num_threads(1)

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")):
        raise RuntimeError(f"the test suite must not touch the network (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse every connection that leaves this machine."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """nbval: a graded solution cell must not write to stderr (nbgrader scores that 0)."""
    outcome = yield
    rep = outcome.get_result()
    cell = getattr(item, "cell", None)
    if call.when != "call" or rep.failed or cell is None:
        return
    nbg = meta(cell)
    if not nbg.get("grade"):
        return
    err = [o for o in (getattr(item, "test_outputs", None) or [])
           if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if err:
        rep.outcome = "failed"
        rep.longrepr = (f"graded cell {nbg.get('grade_id')!r} wrote to stderr, which nbgrader "
                        f"scores as a failure:\n{''.join(o.get('text', '') for o in err)[:2000]}")
