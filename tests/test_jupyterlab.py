"""`make lab` starts a JupyterLab that serves the course (no browser, a free port)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from notebooks import ROOT

VENV = Path(sys.executable).resolve().parent.parent if (Path(sys.prefix) / "pyvenv.cfg").exists() else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(VENV is None or not (Path(sys.prefix) / ".invlab-installed").exists(),
                    reason="run inside the venv that `make install` created")
def test_make_lab_serves_jupyterlab(tmp_path):
    port, token = _free_port(), "invlab-test-token"
    log = open(tmp_path / "lab.log", "w")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), BROWSER="false")
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"VENV={sys.prefix}", f"PORT={port}",
         f"LAB_FLAGS=--IdentityProvider.token={token} --ServerApp.port_retries=0"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline, page = time.time() + 90, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with opener.open(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5) as r:
                    page = (r.status, r.read().decode("utf-8", "replace"))
                    break
            except OSError:
                time.sleep(1)
        assert page is not None, (tmp_path / "lab.log").read_text()[-3000:]
        assert page[0] == 200 and "JupyterLab" in page[1]
        with opener.open(f"http://127.0.0.1:{port}/api/contents/labs?token={token}", timeout=10) as r:
            assert b"01_irevnet.ipynb" in r.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
