"""Start JupyterLab exactly as `make lab` (or `make lab-instructor`) does, for the tests.

The tests run the Makefile target itself, with only its variables changed: the venv that
runs the tests (``VENV``), a free ``PORT``, a temporary working folder (``WORK``) and a known
token (``LAB_FLAGS``). ``-o STAMP`` keeps make from reinstalling the venv.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Optional

from course.notebook import ROOT

STAMP = Path(sys.prefix) / ".invlab-installed"


def skip_reason() -> Optional[str]:
    """Why `make lab` cannot run here, or None."""
    if shutil.which("make") is None:
        return "make is not installed"
    if not (Path(sys.prefix) / "pyvenv.cfg").exists() or not STAMP.exists():
        return "run inside the venv that `make install` created"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git_status() -> str:
    """`git status --porcelain` of the repository ('' outside a git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return ""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True).stdout


class LabServer:
    """``make lab`` (target ``lab``) or ``make lab-instructor`` in the background."""

    def __init__(self, tmp: Path, target: str = "lab", work: Optional[Path] = None,
                 settings: Optional[dict] = None):
        self.tmp, self.target = Path(tmp), target
        self.work = Path(work) if work else self.tmp / "work"
        self.port, self.token = free_port(), "invlab-test-token"
        self.log_path = self.tmp / f"{target}.log"
        # Kernels talk over unix sockets in the runtime folder: keep its path short (≤ 107 bytes).
        self.runtime = Path(tempfile.mkdtemp(prefix="jl-", dir="/tmp" if os.path.isdir("/tmp") else None))
        lab_settings = self.tmp / "user-settings"
        for name, values in (settings or {}).items():          # e.g. notebook windowing
            path = lab_settings / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.runtime), BROWSER="false",
                        JUPYTERLAB_SETTINGS_DIR=str(lab_settings),
                        JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"))
        self.env.pop("MPLBACKEND", None)      # a student's kernel draws inline, as in `make lab`
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.proc = None

    def command(self):
        return ["make", "-s", "-o", str(STAMP), self.target, f"VENV={sys.prefix}",
                f"PORT={self.port}", f"WORK={self.work}",
                f"LAB_FLAGS=--IdentityProvider.token={self.token} --ServerApp.port_retries=0"]

    def url(self, path: str = "lab", **query) -> str:
        q = "&".join([f"{k}={v}" if v is not None else k for k, v in query.items()] +
                     [f"token={self.token}"])
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{sep}{q}"

    def api(self, path: str, method: str = "GET", body=None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(f"api/{path.lstrip('/')}"), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with self.opener.open(req, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def start(self, timeout: float = 120) -> "LabServer":
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with self.opener.open(self.url("lab"), timeout=5) as r:
                    self.page = r.read().decode("utf-8", "replace")
                    return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"`make {self.target}` did not serve JupyterLab:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.runtime, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# The startup warnings a student must not see (issue 11).
NOISE = ("No nbgrader_config.py file found", "Kernel is running over TCP without encryption")
