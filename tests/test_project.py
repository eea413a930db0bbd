"""The project's files agree with each other: requirements, conda, pyproject, README, notebooks."""
import re
import tomllib
from pathlib import Path

import nbformat
import pytest

from course import build, notebook
from course.notebook import ROOT

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
    assert notebook.repo_line(repo) in text
    badges = re.findall(r"https://colab\.research\.google\.com/github/\S+?\.ipynb", text)
    assert badges == [build.colab_url(repo, nb_path.stem)]


@pytest.mark.parametrize("nb_path", build.lab_notebooks(build.SOLUTIONS), ids=lambda p: p.stem)
def test_every_lab_starts_with_the_one_setup_cell(nb_path):
    """The setup cell is course/notebook.py's template: install block, imports only, invlab.setup(0)."""
    nb = nbformat.read(nb_path, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert notebook.grade_id(setup) == "setup"
    assert notebook.setup_problems(setup.source, build.repository_url()) == []


def test_setup_template_refuses_a_drifted_cell():
    repo = "https://github.com/a/b"
    good = notebook.setup_source(repo, "import torch")
    assert notebook.setup_problems(good, repo) == []
    drifted = good.replace("import torch", "import torch\nT0 = 1")
    line = drifted.splitlines().index("T0 = 1") + 1
    assert notebook.setup_problems(drifted, repo) == [f"line {line} of the setup cell is not an import: T0 = 1"]
    assert notebook.setup_problems(good.replace("invlab.setup(0)", "invlab.setup(1)"), repo)
    assert notebook.setup_problems(good.replace('"INVLAB_REPO_URL"', '"URL"'), repo)
    assert notebook.setup_problems(good, "https://github.com/other/repo")


def test_apply_repository_rewrites_the_real_setup_cell():
    nb = nbformat.read(build.lab_notebooks(build.SOLUTIONS)[0], as_version=4)
    assert build.apply_repository(nb, "https://github.com/me/course")
    setup = next(c.source for c in nb.cells if "REPO_URL" in c.source)
    assert notebook.repo_line("https://github.com/me/course") in setup
    assert build.repository_url() not in "\n".join(c.source for c in nb.cells)


def test_apply_repository_rewrites_url_and_badge():
    nb = build.new_notebook([build.markdown("[x](https://colab.research.google.com/github/a/b/blob/main/labs/01_x.ipynb)"),
                             build.code(notebook.repo_line("https://github.com/a/b"))])
    assert build.apply_repository(nb, "https://github.com/me/course")
    assert nb.cells[1].source == notebook.repo_line("https://github.com/me/course")
    assert "github/me/course/blob/main/labs/01_x.ipynb" in nb.cells[0].source
    assert not build.apply_repository(nb, "https://github.com/me/course")


def _map_lines():
    """The lines of docs/map.md's folder tree, each with the module names it starts with."""
    text = (ROOT / "docs" / "map.md").read_text()
    block = text.split("## Folders", 1)[1].split("```")[1]
    out = {}
    for line in block.splitlines():
        m = re.match(r"^\s*((?:[\w.]+/?)(?:, [\w.]+/?)*)\s{2,}\S", line)
        if m:
            for name in m.group(1).split(", "):
                out[name] = line
    return out


def test_map_has_a_line_for_every_module():
    """docs/map.md (the map of the house) has a line of its own for every module and package
    of invlab/ and course/: the line starts with the module's name."""
    lines = _map_lines()
    missing = []
    for folder in ("invlab", "course"):
        for path in sorted((ROOT / folder).iterdir()):
            if path.name.startswith("_") or path.name == "__pycache__":
                continue
            if path.suffix == ".py":
                name = path.name
            elif path.is_dir() and any(path.glob("*.py")):
                name = path.name + "/"
            else:
                continue
            if name not in lines:
                missing.append(f"{folder}/{name}")
    assert not missing, f"docs/map.md has no line starting with: {missing}"


def test_the_map_test_notices_a_deleted_line(monkeypatch):
    text = (ROOT / "docs" / "map.md").read_text()
    gone = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("sandbox.py"))
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: gone if self.name == "map.md" else real(self, *a, **k))
    with pytest.raises(AssertionError, match="course/sandbox.py"):
        test_map_has_a_line_for_every_module()


def test_run_times_are_stated_from_the_one_budget():
    """README, every lab's first cell and `make bench` take their run times from
    [tool.invlab.budget] in pyproject.toml (lab 5 had three different figures)."""
    assert notebook.budget_summary() in (ROOT / "README.md").read_text()
    for path in build.lab_notebooks(build.SOLUTIONS) + build.lab_notebooks(build.LABS):
        first = nbformat.read(path, as_version=4).cells[0].source
        assert notebook.runtime_sentence(path.stem) in " ".join(first.split()), path
    assert "budget(p.stem)" in (ROOT / "benchmarks" / "notebooks.py").read_text()
