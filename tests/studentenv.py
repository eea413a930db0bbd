"""A student's environment, built the way Colab builds it, for tests/test_install.py.

* :func:`clean_copy` — the tree as git would check it out (tracked and untracked files
  that git does not ignore: no ``.venv``, no ``build/``, no editable-install residue);
* :func:`build_dists` — the sdist, then the wheel built *from the sdist* (``python -m
  build``), as ``pip install git+…`` does;
* :func:`make_env` — a fresh virtual environment that cannot see the checkout or the
  editable install: its third-party packages are exactly the declared dependencies of
  invlab (and what they need), linked from this interpreter's site-packages, so a module
  that invlab imports but does not declare is missing there, as it would be on a new
  machine. No download: the suite stays offline;
* :func:`check_installed` — import ``invlab`` and every submodule in that environment,
  from an empty folder, check they come from the environment, and run their doctests.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Iterable, List, Optional, Set

ROOT = Path(__file__).resolve().parent.parent


def clean_copy(dest: Path, root: Path = ROOT) -> Path:
    """Copy the files git would hand out (tracked, or untracked and not ignored) to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = root / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def build_dists(src: Path, outdir: Path) -> dict:
    """``{"sdist": path, "wheel": path}``: the sdist, then the wheel built from it (no download)."""
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(src)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"python -m build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return {"sdist": next(Path(outdir).glob("invlab-*.tar.gz")), "wheel": next(Path(outdir).glob("invlab-*.whl"))}


def declared_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> List[str]:
    return list(tomllib.loads(Path(pyproject).read_text())["project"]["dependencies"])


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(names: Iterable[str]) -> Set[str]:
    """The installed distributions ``names`` need, recursively (environment markers applied)."""
    from packaging.requirements import Requirement
    todo, seen = [(_canon(n), "") for n in names], set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        dist = metadata.distribution(name)  # PackageNotFoundError: not installed here
        seen.add((name, extra))
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(_canon(req.name), e) for e in ("", *req.extras)]
    return {name for name, _ in seen}


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return Path(out)


def make_env(path: Path, dists: Iterable[str]) -> Path:
    """A new venv at ``path`` holding (as links) only ``dists`` from this interpreter; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(path)], check=True, capture_output=True)
    python = path / "bin" / "python"
    site = _site_packages(python)
    here = Path(sysconfig.get_paths()["purelib"])
    for name in sorted(dists):
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            if top in ("__pycache__",) or top.endswith(".pth") and top.startswith("__editable__"):
                continue
            if not (site / top).exists() and (here / top).exists():
                (site / top).symlink_to(here / top)
    return python


def run_in(python: Path, args: List[str], cwd: Path, env: Optional[dict] = None, timeout: float = 600):
    """Run ``python -I ARGS`` (isolated: no PYTHONPATH, no user site, no script folder) in ``cwd``."""
    full = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    full.update(env or {})
    return subprocess.run([str(python), "-I", *args], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=timeout)


# Runs inside the student's environment: stdlib only, then invlab as installed there.
CHECK = r'''
import doctest, importlib, json, os, pkgutil, sys
import invlab
root = os.path.dirname(invlab.__file__)
mods, failed, attempted = [], [], 0
for info in pkgutil.walk_packages(invlab.__path__, "invlab."):
    mods.append(info.name)
for name in ["invlab"] + mods:
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS, verbose=False, report=False)
    attempted += res.attempted
    if res.failed:
        failed.append(name)
print(json.dumps({"file": invlab.__file__, "modules": ["invlab"] + mods, "doctests": attempted,
                  "failed": failed, "sys_path": sys.path}))
'''


def check_installed(python: Path, cwd: Path, env: Optional[dict] = None) -> dict:
    """Import invlab and every submodule with ``python`` from ``cwd``, run their doctests.

    Returns ``{"file", "modules", "doctests", "failed", "sys_path"}``; raises with the
    interpreter's output when the import itself fails.
    """
    script = Path(cwd) / "check_installed.py"
    script.write_text(CHECK)
    proc = run_in(python, [str(script)], cwd, {"MPLBACKEND": "Agg", "INVLAB_OFFLINE": "1", **(env or {})})
    script.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"invlab does not import in {python}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kernelspec(jupyter_dir: Path, python: Path, name: str = "invlab-student") -> str:
    """A kernelspec ``name`` under ``jupyter_dir/kernels`` that starts ``python``'s ipykernel."""
    spec = Path(jupyter_dir) / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "invlab as a student installs it", "language": "python"}))
    return name
