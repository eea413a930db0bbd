"""The project's files agree with each other: requirements, conda, pyproject, README, notebooks."""
import re
import tomllib

import nbformat
import pytest

from course import build
from notebooks import ROOT

REQ_LINE = re.compile(r"^([A-Za-z0-9_.-]+)\s*(>=\s*[\w.]+)?\s*$")


def _reqs(lines):
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line:
            continue
        m = REQ_LINE.match(line)
        assert m, f"{line!r}: only plain names with lower bounds (>=) are allowed, no pins"
        out[m.group(1).lower()] = (m.group(2) or "").replace(" ", "")
    return out


def requirements():
    return _reqs((ROOT / "requirements.txt").read_text().splitlines())


def conda_pip_requirements():
    lines, inside = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^\s*- pip:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s{6,}- (.+)$", line)
            if not m:
                break
            lines.append(m.group(1))
    return _reqs(lines)


def test_requirements_have_lower_bounds_only_and_the_course_set():
    reqs = requirements()
    for name in ("torch", "torchvision", "matplotlib", "ipywidgets", "jupyterlab", "nbval",
                 "pytest", "tqdm", "mlxtend", "nbgrader"):
        assert reqs.get(name, "").startswith(">="), f"{name} needs a lower bound in requirements.txt"


def test_environment_yml_matches_requirements():
    assert conda_pip_requirements() == requirements()


def test_pyproject_needs_are_in_requirements_without_versions():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", dep), f"pyproject pins {dep!r}: bounds live in requirements.txt"
        assert dep.lower() in requirements()


def test_readme_gives_the_two_commands_and_ci_uses_them():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


@pytest.mark.parametrize("nb_path", build.lab_notebooks(build.SOLUTIONS) + build.lab_notebooks(build.LABS),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebooks_use_the_one_repository_setting(nb_path):
    repo = build.repository_url()
    text = "\n".join(c.source for c in nbformat.read(nb_path, as_version=4).cells)
    assert f'REPO_URL = "{repo}"' in text
    badges = re.findall(r"https://colab\.research\.google\.com/github/\S+?\.ipynb", text)
    assert badges == [build.colab_url(repo, nb_path.stem)]


def test_apply_repository_rewrites_the_real_setup_cell():
    nb = nbformat.read(build.lab_notebooks(build.SOLUTIONS)[0], as_version=4)
    assert build.apply_repository(nb, "https://github.com/me/course")
    setup = next(c.source for c in nb.cells if "REPO_URL" in c.source)
    assert 'REPO_URL = "https://github.com/me/course"' in setup
    assert build.repository_url() not in "\n".join(c.source for c in nb.cells)


def test_apply_repository_rewrites_url_and_badge():
    nb = build.new_notebook([build.markdown("[x](https://colab.research.google.com/github/a/b/blob/main/labs/01_x.ipynb)"),
                             build.code('REPO_URL = "https://github.com/a/b"')])
    assert build.apply_repository(nb, "https://github.com/me/course")
    assert nb.cells[1].source == 'REPO_URL = "https://github.com/me/course"'
    assert "github/me/course/blob/main/labs/01_x.ipynb" in nb.cells[0].source
    assert not build.apply_repository(nb, "https://github.com/me/course")


def test_student_install_is_the_package_only(tmp_path):
    """pip installs invlab alone: no course tooling, no nbformat/nbgrader, Python ≥ 3.11."""
    import subprocess
    import sys
    import zipfile
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = {d.lower() for d in meta["project"]["dependencies"]}
    assert not deps & {"nbformat", "nbgrader", "nbclient", "nbval", "jupyterlab", "pytest"}
    assert meta["project"]["requires-python"] == ">=3.11"
    for path in (ROOT / "invlab").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(nbformat|nbgrader|nbclient|course)\b", text, re.M), \
            f"{path.name} imports course tooling"
    import shutil
    src = tmp_path / "src"   # build from a copy: setuptools writes build/ beside the sources
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "work", "*.ipynb",
                                                             "__pycache__", "*.egg-info"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("invlab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert "invlab" in top and "course" not in top and "tests" not in top, sorted(top)


def test_map_names_every_module():
    """docs/map.md (the map of the house) names every module of invlab/ and course/."""
    text = (ROOT / "docs" / "map.md").read_text()
    missing = []
    for folder in ("invlab", "course"):
        for path in sorted((ROOT / folder).iterdir()):
            if path.name.startswith("_") or path.name == "__pycache__":
                continue
            name = path.stem if path.suffix == ".py" else path.name + "/"
            if path.suffix not in (".py", "") or (path.is_dir() and not (path / "__init__.py").exists()):
                continue
            if not re.search(rf"(?<![\w/]){re.escape(name)}", text):
                missing.append(f"{folder}/{path.name}")
    assert not missing, f"docs/map.md does not mention: {missing}"
