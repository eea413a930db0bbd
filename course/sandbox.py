"""The grading kernel: an IPython kernel with the network off, a memory cap and the
grader's files out of reach. Started by nbgrader through the kernelspec that
:func:`install_kernelspec` writes into each student's temporary course directory.

    python course/sandbox.py -f CONNECTION_FILE

Limits come from the environment (set by the grader):

* ``INVLAB_SANDBOX_MEMORY_MB`` — address-space cap (``RLIMIT_AS``) for the kernel;
* ``INVLAB_SANDBOX_DENY`` — ``os.pathsep``-separated folders the student may not open
  or list (the master solutions, the course directory, the gradebook's folder);
* ``INVLAB_SANDBOX_ALLOW`` — folders inside those that stay open (the student's own).

After the kernel has started, a Python audit hook (which Python code cannot remove)
refuses socket connections, subprocesses and opening the denied folders, each with a
``PermissionError`` that says what grading forbids. This keeps honest mistakes and
casual tricks out; it is not a security boundary against native code.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "invlab-grading"

_NET_EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind",
               "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"}
_PROC_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                "os.fork", "os.forkpty", "pty.spawn"}
_PATH_EVENTS = {"open": 0, "os.listdir": 0, "os.scandir": 0, "os.rename": 0, "os.remove": 0,
                "os.rmdir": 0, "os.mkdir": 0, "shutil.copyfile": 0, "os.truncate": 0,
                "os.chmod": 0, "os.link": 0, "os.symlink": 0, "glob.glob": 0}


def install_kernelspec(jupyter_dir: Path) -> str:
    """Write the grading kernelspec under ``jupyter_dir/kernels``; returns its name."""
    spec = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(Path(__file__).resolve()), "-f", "{connection_file}"],
        "display_name": "Python 3 (invlab grading)", "language": "python"}))
    return KERNEL_NAME


def _folders(var: str):
    return [os.path.realpath(p) for p in os.environ.get(var, "").split(os.pathsep) if p]


def _guard():
    deny, allow = _folders("INVLAB_SANDBOX_DENY"), _folders("INVLAB_SANDBOX_ALLOW")

    def inside(path, roots):
        return any(path == r or path.startswith(r + os.sep) for r in roots)

    def hook(event, args):
        if event in _NET_EVENTS:
            raise PermissionError("network access is off while grading")
        if event in _PROC_EVENTS or event.startswith("os.exec") or event.startswith("os.spawn"):
            raise PermissionError("starting other programs is off while grading")
        if event in _PATH_EVENTS and args:
            target = args[0]
            if isinstance(target, int) or target is None:
                return
            try:
                path = os.path.realpath(os.fsdecode(target))
            except (TypeError, ValueError):
                return
            if inside(path, deny) and not inside(path, allow):
                raise PermissionError(f"{path} is out of reach while grading")

    return hook


def main() -> None:
    mb = int(os.environ.get("INVLAB_SANDBOX_MEMORY_MB", "0") or 0)
    if mb > 0:
        import resource
        cap = mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    sys.addaudithook(_guard())
    app.start()


if __name__ == "__main__":
    main()
