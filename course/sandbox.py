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
refuses socket connections, subprocesses, opening the denied folders, and *writing*
anywhere but the allowed folders (the student's own, where ``TMPDIR`` points too), the
user's cache and config folders (matplotlib's font cache, torch's) and ``/dev`` — so a
submission cannot append to another run's gradebook either. Each refusal is a
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
_WRITE_EVENTS = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.copyfile", "os.truncate",
                 "os.chmod", "os.link", "os.symlink", "shutil.copytree", "shutil.rmtree", "os.utime"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
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


def _writes(event: str, args: tuple) -> bool:
    if event == "open":  # open(path, mode, flags): builtins.open gives a mode, os.open flags
        mode, flags = (list(args[1:3]) + [None, None])[:2]
        if isinstance(mode, str):
            return any(c in mode for c in "wax+")
        return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
    return event in _WRITE_EVENTS


def _writable() -> list:
    home = os.path.expanduser("~")
    places = [os.path.join(home, d) for d in (".cache", ".config", ".ipython", ".local/share/jupyter")]
    places += [os.environ[v] for v in ("MPLCONFIGDIR", "TORCHINDUCTOR_CACHE_DIR") if os.environ.get(v)]
    return [os.path.realpath(p) for p in places] + ["/dev"]


def _guard():
    deny, allow = _folders("INVLAB_SANDBOX_DENY"), _folders("INVLAB_SANDBOX_ALLOW")
    writable = allow + _writable()

    def inside(path, roots):
        return any(path == r or path.startswith(r + os.sep) for r in roots)

    def hook(event, args):
        if event in _NET_EVENTS:
            raise PermissionError("network access is off while grading")
        if event in _PROC_EVENTS or event.startswith("os.exec") or event.startswith("os.spawn"):
            raise PermissionError("starting other programs is off while grading")
        if (event in _PATH_EVENTS or event in _WRITE_EVENTS) and args:
            write = _writes(event, args)
            targets = args[:2] if event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile",
                                            "shutil.copytree") else args[:1]
            for k, target in enumerate(targets):
                if isinstance(target, int) or target is None:
                    continue
                try:
                    path = os.path.realpath(os.fsdecode(target))
                except (TypeError, ValueError):
                    continue
                if inside(path, deny) and not inside(path, allow):
                    raise PermissionError(f"{path} is out of reach while grading")
                if (write or k == 1) and not inside(path, writable):
                    raise PermissionError(f"writing {path} is off while grading (only the notebook's "
                                          f"own folder is writable)")

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
