"""A private single-node Slurm cluster (tests/test_slurm.py, benchmarks/grading_scale.py, or an
instructor trying submit.sh on a laptop): its own config, state, spool, munge key and socket
in one temporary folder; its three daemons run in the foreground as this process's
children and are stopped (and the folder removed) when the ``with`` block ends.

    with SlurmCluster(tmp) as c:
        c.run(["sbatch", ...])          # SLURM_CONF points at the private config

Needs Linux, root, and Debian's ``slurm-wlm`` and ``munge`` (``.ci/run`` installs them);
:func:`unavailable` says why not, for a skip.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")


def unavailable() -> Optional[str]:
    """Why no private Slurm cluster can start here (None when it can)."""
    if not sys.platform.startswith("linux"):
        return f"Slurm needs Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "a private Slurm cluster runs its daemons as root; these tests are not root"
    missing = [d for d in DAEMONS if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt install slurm-wlm munge)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exe(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class SlurmCluster:
    """One node (this machine, its CPUs), one partition; munge on a private socket."""

    def __init__(self, folder: Path, cpus: Optional[int] = None):
        self.dir = Path(folder)
        self.cpus = cpus or os.cpu_count() or 1
        self.procs = []

    def _write_config(self) -> None:
        d, host = self.dir, socket.gethostname().split(".")[0]
        for sub in ("state", "spool", "log", "munge"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "munge" / "munge.key").write_bytes(os.urandom(1024))
        os.chmod(d / "munge" / "munge.key", 0o600)
        os.chmod(d / "munge", 0o700)
        self.conf = d / "slurm.conf"
        self.conf.write_text("\n".join([
            "ClusterName=invlabtest", f"SlurmctldHost={host}", f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}", "SlurmUser=root", "AuthType=auth/munge",
            f"AuthInfo=socket={d}/munge/munge.socket", "CredType=cred/munge",
            f"StateSaveLocation={d}/state", f"SlurmdSpoolDir={d}/spool",
            f"SlurmctldPidFile={d}/slurmctld.pid", f"SlurmdPidFile={d}/slurmd.pid",
            f"SlurmctldLogFile={d}/log/slurmctld.log", f"SlurmdLogFile={d}/log/slurmd.log",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU", "MpiDefault=none", "ReturnToService=2", "JobCompType=jobcomp/none",
            "SchedulerType=sched/backfill", "SchedulerParameters=bf_interval=1,sched_interval=1",
            "MessageTimeout=30", "KillWait=5",
            f"NodeName={host} CPUs={self.cpus} State=UNKNOWN",
            f"PartitionName=grading Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""]))
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def __enter__(self) -> "SlurmCluster":
        self._write_config()
        d = self.dir
        self.procs.append(subprocess.Popen(
            [_exe("munged"), "-F", "--force", f"--socket={d}/munge/munge.socket", f"--key-file={d}/munge/munge.key",
             f"--pid-file={d}/munge/munged.pid", f"--log-file={d}/munge/munged.log", f"--seed-file={d}/munge/seed"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self._wait(lambda: (d / "munge" / "munge.socket").exists(), "munged")
        for daemon in ("slurmctld", "slurmd"):
            self.procs.append(subprocess.Popen([_exe(daemon), "-D", "-f", str(self.conf)], env=self.env,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self._wait(lambda: "idle" in self.run(["sinfo", "-h", "-o", "%t"], check=False).stdout, "the node")
        return self

    def _wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if ready():
                return
            time.sleep(0.3)
        raise RuntimeError(f"the private Slurm cluster did not start ({what}); logs in {self.dir}/log")

    def run(self, argv, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env={**self.env, **kw.pop("env", {})}, capture_output=True, text=True,
                              check=check, **kw)

    def jobs(self) -> str:
        """``squeue`` of every job still known (id, state)."""
        return self.run(["squeue", "-h", "-o", "%i %T"], check=False).stdout

    def wait_until_idle(self, timeout: float = 900) -> None:
        self._wait(lambda: self.jobs().strip() == "", "the jobs to finish", timeout)

    def __exit__(self, *exc) -> None:
        self.run(["scancel", "--user", "root"], check=False)
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
