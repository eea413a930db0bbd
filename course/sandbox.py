"""The grading sandbox: one policy per student's kernel, enforced by the operating system.

A :class:`Policy` says everything about one student's kernel in one place: what it may
write (its own folder, its temp dir, the folder of its kernel sockets), what it may read
(the system's libraries, Python, the virtual environment, the invlab package), its limits
(memory, CPU time) and how it is enforced (``mode``). The grader builds it
(:meth:`Policy.for_student`), saves it beside the student's course copy, and the kernelspec
that :func:`install_kernelspec` writes starts :func:`launch` with it::

    python course/sandbox.py POLICY.json -f CONNECTION_FILE

``mode="os"``: **bubblewrap** (``bwrap``, Debian's ``bubblewrap`` package; the tool
Flatpak sandboxes applications with). It is chosen because it is small, audited, packaged
everywhere, needs no daemon (Docker does) and no root (it uses unprivileged user
namespaces; as root it simply works), and it does exactly what a kernel needs: new user,
mount, network, pid, IPC and UTS namespaces. Inside, the kernel sees a read-only system
(``/usr/lib``, Python, the venv, the package), its own writable folder and temp dir, and
nothing else: no master solutions, no course directory, no gradebook, no other student,
no ``/proc`` (so no other process and no ``/proc/self/mem``), no shell binaries, no
network (it talks to nbgrader over Unix sockets: ``KernelManager.transport = "ipc"``).
Memory (``RLIMIT_AS``) and CPU time (``RLIMIT_CPU``) are capped before bubblewrap starts.

``mode="python"``: the fallback where no namespace sandbox can start (macOS, a locked-down
container): the kernel's audit hook (:mod:`course.referee`) refuses opening the denied
folders, writing outside the writable ones, sockets and subprocesses. It stops Python code,
not native code; :func:`choose` says so in one warning. Either way the referee watches the
graded cells (checks a submission cannot switch off).
"""
from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

KERNEL_NAME = "invlab-grading"
HERE = Path(__file__).resolve().parent
REFEREE = HERE / "referee.py"
REFEREE_INSIDE = "/opt/invlab/referee.py"   # where the os sandbox mounts it (read-only)
MODES = ("auto", "os", "python")

PYTHON_ONLY_WARNING = (
    "invlab grading: no operating-system sandbox here ({why}); grading with the Python audit "
    "hook only. It stops a submission's Python code from reading the solutions, writing "
    "outside its folder, using the network or starting programs, but NOT native code "
    "(ctypes, C-level file access in torch or numpy): grade untrusted classes on Linux with "
    "bubblewrap installed (apt install bubblewrap).")


@dataclass
class Policy:
    """What one student's kernel may do. Saved as JSON beside the student's course copy."""
    mode: str                              # "os" (bubblewrap) or "python" (audit hook only)
    writable: List[str]                    # the student's folder, its temp dir, the kernel's sockets
    readonly: List[str]                    # Python, the venv, the package (the system is added)
    memory_mb: int = 8192                  # RLIMIT_AS of the kernel; 0: none
    cpu_seconds: int = 3600                # RLIMIT_CPU of the kernel; 0: none
    deny: List[str] = field(default_factory=list)   # python mode: folders it may not open at all
    key: str = ""                          # the referee's MAC key (hex), never inside the sandbox
    report: str = ""                       # where the referee's reports go (outside the sandbox)
    tmp: str = ""                          # the kernel's TMPDIR and HOME

    @classmethod
    def for_student(cls, mode: str, student_dir: Path, tmp_dir: Path, runtime_dir: Path, report: Path,
                    memory_mb: int, cpu_seconds: int, deny: List[str]) -> "Policy":
        readonly = sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, *_package_dirs())})
        return cls(mode=mode, writable=[str(student_dir), str(tmp_dir), str(runtime_dir)], readonly=readonly,
                   memory_mb=memory_mb, cpu_seconds=cpu_seconds, deny=list(deny), key=secrets.token_hex(32),
                   report=str(report), tmp=str(tmp_dir))

    def save(self, path: Path) -> Path:
        Path(path).write_text(json.dumps(asdict(self)))
        os.chmod(path, 0o600)
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> "Policy":
        return cls(**json.loads(Path(path).read_text()))


def _package_dirs() -> List[str]:
    """Where invlab and the site-packages live (an editable invlab lives outside them)."""
    import invlab
    return [os.path.dirname(os.path.dirname(invlab.__file__)) + "/invlab", sysconfig.get_paths()["purelib"]]


# ---------------------------------------------------------------- which mode
_PROBE: Optional[Tuple[bool, str]] = None


def os_sandbox() -> Tuple[bool, str]:
    """``(True, "")`` when bubblewrap can start a sandbox here, else ``(False, why)`` (cached)."""
    global _PROBE
    if _PROBE is None:
        if not sys.platform.startswith("linux"):
            _PROBE = (False, f"bubblewrap needs Linux, this is {sys.platform}")
        elif shutil.which("bwrap") is None:
            _PROBE = (False, "bwrap is not installed")
        else:
            proc = subprocess.run(["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--", "true"],
                                  capture_output=True, text=True)
            _PROBE = (proc.returncode == 0, proc.stderr.strip().splitlines()[-1] if proc.returncode else "")
    return _PROBE


def choose(requested: str = "auto") -> Tuple[str, Optional[str]]:
    """The mode to grade with and the warning to print (None when the OS sandbox is used).

    ``auto`` takes the strongest available; ``os`` insists (ValueError when it cannot start);
    ``python`` is the audit hook alone (a warning says what is not protected).
    """
    if requested not in MODES:
        raise ValueError(f"--sandbox must be one of {', '.join(MODES)}, got {requested!r}")
    ok, why = os_sandbox()
    if requested == "os" and not ok:
        raise ValueError(f"--sandbox os: bubblewrap cannot start here ({why}); install it "
                         "(apt install bubblewrap) or choose --sandbox python")
    if requested == "os" or (requested == "auto" and ok):
        return "os", None
    return "python", PYTHON_ONLY_WARNING.format(why=why or "chosen with --sandbox python")


# ---------------------------------------------------------------- the kernelspec
def install_kernelspec(jupyter_dir: Path, policy_path: Path) -> str:
    """Write the grading kernelspec under ``jupyter_dir/kernels``; returns its name."""
    spec = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(Path(__file__).resolve()), str(policy_path), "-f", "{connection_file}"],
        # interrupts travel as messages: a signal would reach bubblewrap, not the kernel inside
        "interrupt_mode": "message",
        "display_name": "Python 3 (invlab grading)", "language": "python"}))
    return KERNEL_NAME


# ---------------------------------------------------------------- starting the kernel
def _system_mounts() -> List[str]:
    """Read-only system folders a Python kernel needs (libraries, fonts, time zones), no binaries."""
    args = []
    for path in ("/usr/lib", "/usr/lib64", "/usr/share/fonts", "/usr/share/zoneinfo", "/etc/fonts",
                 "/etc/ld.so.cache", "/etc/localtime", "/proc/cpuinfo"):
        args += ["--ro-bind-try", path, path]
    return args + ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]


def bwrap_argv(policy: Policy, inner: List[str], env: dict) -> List[str]:
    """The bubblewrap command that runs ``inner`` under ``policy`` with exactly ``env``."""
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--dev", "/dev", "--tmpfs", "/tmp", *_system_mounts()]
    for path in policy.readonly:
        argv += ["--ro-bind", path, path]
    argv += ["--ro-bind", str(REFEREE), REFEREE_INSIDE]
    for path in policy.writable:
        argv += ["--bind", path, path]
    argv += ["--clearenv"]
    for k, v in env.items():
        argv += ["--setenv", k, v]
    return [*argv, "--chdir", policy.writable[0], "--", *inner]


def kernel_env(policy: Policy) -> dict:
    """The kernel's whole environment: nothing of the grader's is passed on."""
    tmp = policy.tmp
    return {"PATH": os.path.dirname(sys.executable), "HOME": tmp, "TMPDIR": tmp, "MPLCONFIGDIR": tmp,
            "LANG": "C.UTF-8", "INVLAB_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "", "INVLAB_OFFLINE": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}


def _limit(policy: Policy) -> None:
    if policy.memory_mb > 0:
        cap = policy.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if policy.cpu_seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (policy.cpu_seconds, policy.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def launch(policy_path: Path, connection_file: str) -> None:
    """Start the student's kernel under its policy (replaces this process)."""
    policy = Policy.load(policy_path)
    settings = {"key": policy.key, "mode": policy.mode, "writable": policy.writable, "deny": policy.deny,
                "readonly": policy.readonly}
    r, w = os.pipe()                   # the referee's settings: read once, then the pipe is gone
    os.write(w, json.dumps(settings).encode())
    os.close(w)
    out = os.open(policy.report, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.set_inheritable(r, True)
    os.set_inheritable(out, True)
    env = {**kernel_env(policy), "INVLAB_REFEREE_FD": str(r), "INVLAB_REFEREE_OUT": str(out)}
    _limit(policy)
    if policy.mode == "os":
        argv = bwrap_argv(policy, [sys.executable, REFEREE_INSIDE, "-f", connection_file], env)
        os.execvpe("bwrap", argv, os.environ)
    os.chdir(policy.writable[0])
    os.execve(sys.executable, [sys.executable, str(REFEREE), "-f", connection_file], env)


if __name__ == "__main__":
    launch(Path(sys.argv[1]), sys.argv[sys.argv.index("-f") + 1])
