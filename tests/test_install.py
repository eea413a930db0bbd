"""The course as its students install it: the wheel, not the checkout.

A student on Colab gets the wheel that ``pip install "invlab @ git+…"`` builds, in a folder
that is not the repository. These tests build the sdist and the wheel from a clean copy of
the tree once per run, install them into a fresh environment that holds only invlab's
declared dependencies (tests/studentenv.py), and run every lab there from an empty folder,
its setup cell installing invlab through its own install branch from a ``git+file://``
copy of the tree. Offline throughout: dependencies are linked from this interpreter, and
pip builds with the environment's setuptools instead of downloading one into an isolated
build environment (the one way this differs from Colab).
"""
import ast
import json
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import studentenv as se
from course import build, notebook
from course.notebook import ROOT, errors, paste_solution

ARTIFACTS = ROOT / "test-artifacts"


# ---------------------------------------------------------------- what invlab imports
def third_party_imports(folder: Path = ROOT / "invlab") -> dict:
    """``{top-level module: [files]}`` of every non-stdlib module that invlab imports anywhere."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("invlab", "__future__"):
                    found.setdefault(top, []).append(path.relative_to(ROOT).as_posix())
    return found


def undeclared(imports: dict, declared) -> dict:
    """Imported modules whose distribution is not declared: ``{module: distributions}``."""
    declared = {se._canon(d) for d in declared}
    owners = metadata.packages_distributions()
    return {m: owners.get(m, ["?"]) for m in imports
            if not {se._canon(d) for d in owners.get(m, [])} & declared}


def test_every_third_party_import_is_a_declared_dependency_and_back():
    imports = third_party_imports()
    declared = se.declared_dependencies()
    assert undeclared(imports, declared) == {}, "invlab imports modules pyproject.toml does not declare"
    owners = metadata.packages_distributions()
    used = {se._canon(d) for m in imports for d in owners.get(m, [])}
    assert {se._canon(d) for d in declared} - used == set(), "pyproject.toml declares what invlab never imports"
    # the check can fail: without scikit-learn (invlab.data.load_digits imports sklearn) it names sklearn
    assert undeclared(imports, [d for d in declared if d != "scikit-learn"]) == {"sklearn": ["scikit-learn"]}


def test_requires_python_admits_colab_and_this_machine():
    from packaging.specifiers import SpecifierSet
    spec = SpecifierSet(se.tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running in spec and "3.12" in spec, f"requires-python {spec} must admit Colab's 3.12 and {running}"


def test_student_package_has_no_course_tooling():
    deps = {d.lower() for d in se.declared_dependencies()}
    assert not deps & {"nbformat", "nbgrader", "nbclient", "nbval", "jupyterlab", "pytest"}
    assert not set(third_party_imports()) & {"nbformat", "nbgrader", "nbclient", "course", "pytest"}


# ---------------------------------------------------------------- the sdist and the wheel
@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The sdist and the wheel built from it, from a clean copy of the tree (built once)."""
    tmp = tmp_path_factory.mktemp("dists")
    src = se.clean_copy(tmp / "src")
    return se.build_dists(src, tmp / "dist")


def package_files(root: Path = ROOT) -> set:
    """Every file of invlab/ that git hands out (modules and data alike)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "invlab"], cwd=root,
                         capture_output=True, text=True, check=True).stdout.split()
    return {p for p in out if "__pycache__" not in p and (root / p).is_file()}


def test_sdist_and_wheel_carry_every_file_of_invlab(dists):
    want = package_files()
    assert "invlab/bijections/__init__.py" in want
    wheel = {n for n in zipfile.ZipFile(dists["wheel"]).namelist() if n.startswith("invlab/")}
    with tarfile.open(dists["sdist"]) as tar:
        sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/invlab/" in n and tar.getmember(n).isfile()}
    assert want - wheel == set(), "the wheel lacks files of invlab/"
    assert want - sdist == set(), "the sdist lacks files of invlab/"
    assert wheel - want == set() and not any(n.startswith(("course/", "tests/")) for n in
                                              zipfile.ZipFile(dists["wheel"]).namelist())


@pytest.fixture(scope="module")
def closure():
    return se.dependency_closure(se.declared_dependencies())


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory, dists, closure):
    """A fresh environment with the declared dependencies and the wheel, nothing else."""
    env = tmp_path_factory.mktemp("wheel-env")
    python = se.make_env(env / "venv", closure | {"pip"})
    proc = se.run_in(python, ["-m", "pip", "install", "-q", "--no-index", "--no-deps", str(dists["wheel"])], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return python


def test_wheel_installs_with_its_dependencies_satisfied(wheel_env, tmp_path):
    proc = se.run_in(wheel_env, ["-m", "pip", "check"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = se.run_in(wheel_env, ["-c", "import course"], tmp_path)
    assert proc.returncode != 0, "the course tooling must not be importable where students install invlab"


def test_installed_package_imports_every_module_and_passes_its_doctests(wheel_env, tmp_path):
    got = se.check_installed(wheel_env, tmp_path)
    assert Path(got["file"]).is_relative_to(wheel_env.parent.parent), got["file"]
    assert not any(str(ROOT) in p for p in got["sys_path"]), "the student's environment sees the checkout"
    want = sorted("invlab" if p.parts[-1] == "__init__.py" and len(p.parts) == 2 else
                  ".".join(p.with_suffix("").parts[:-1] if p.name == "__init__.py" else p.with_suffix("").parts)
                  for p in (Path(f) for f in package_files()) if p.suffix == ".py")
    assert sorted(got["modules"]) == want
    assert got["failed"] == [] and got["doctests"] >= 200, got


def _broken_wheel(dists, tmp: Path) -> Path:
    """The wheel of the old pyproject, which named its packages by hand (``packages = ["invlab"]``)."""
    src = se.clean_copy(tmp / "src")
    text = (src / "pyproject.toml").read_text()
    start, end = text.index("[tool.setuptools]"), text.index("[tool.invlab]")
    (src / "pyproject.toml").write_text(text[:start] + '[tool.setuptools]\npackages = ["invlab"]\n\n' + text[end:])
    (src / "MANIFEST.in").unlink()
    return se.build_dists(src, tmp / "dist")["wheel"]


def _env_with(tmp: Path, dists_names, wheel: Path) -> Path:
    python = se.make_env(tmp / "venv", dists_names)
    site = se._site_packages(python)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                           "--target", str(site), str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return python


def test_the_install_check_fails_on_a_dropped_subpackage_or_dependency(dists, closure, tmp_path):
    """The checks above can fail: a hand package list drops invlab.bijections, a missing
    dependency breaks the import (both as they broke the Colab path before)."""
    broken = _broken_wheel(dists, tmp_path / "hand-list")
    assert "invlab/bijections/__init__.py" not in zipfile.ZipFile(broken).namelist()
    python = _env_with(tmp_path / "a", closure, broken)
    with pytest.raises(RuntimeError, match="bijections"):
        se.check_installed(python, tmp_path)
    python = _env_with(tmp_path / "b", closure - {"tqdm"}, dists["wheel"])
    with pytest.raises(RuntimeError, match="No module named 'tqdm'"):
        se.check_installed(python, tmp_path)


# ---------------------------------------------------------------- every lab as on Colab
@pytest.fixture(scope="module")
def colab(tmp_path_factory, dists, closure):
    """An environment without invlab, a git+file:// copy of the tree, a kernelspec for both.

    The first lab's setup cell is run alone there: its install branch must install invlab
    from the repository URL (``INVLAB_REPO_URL``), exactly as on Colab.
    """
    tmp = tmp_path_factory.mktemp("colab")
    python = se.make_env(tmp / "venv", closure | se.dependency_closure(["ipykernel", "pip", "setuptools"]))
    repo = se.clean_copy(tmp / "repo.git")
    git = ["git", "-c", "user.name=invlab", "-c", "user.email=invlab@localhost", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the course as published"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    env = {k: v for k, v in se.os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({notebook.REPO_ENV: f"file://{repo}", "PIP_NO_INDEX": "1", "INVLAB_OFFLINE": "1",
                "MPLBACKEND": "Agg", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    # pip builds the wheel with the environment's setuptools (no isolated build environment:
    # that would download setuptools); the value 0 is how pip spells --no-build-isolation here.
    env["PIP_NO_BUILD_ISOLATION"] = "0"
    jupyter = tmp / "jupyter"
    kernel = se.kernelspec(jupyter, python)
    before = se.run_in(python, ["-c", "import invlab"], tmp)
    assert before.returncode != 0, "the Colab environment must start without invlab"
    lab01 = nbformat.read(build.lab_notebooks(build.LABS)[0], as_version=4)
    setup_only = nbformat.v4.new_notebook(cells=[next(c for c in lab01.cells if notebook.grade_id(c) == "setup")])
    folder = tmp / "setup-run"
    folder.mkdir()
    t0 = time.perf_counter()
    run_lab(setup_only, folder, kernel, jupyter, env)
    seconds = time.perf_counter() - t0
    assert not errors(setup_only.cells[0]), setup_only.cells[0].outputs
    direct = json.loads(next((python.parent.parent / "lib").glob("python3*/site-packages/invlab-*.dist-info/"
                                                                "direct_url.json")).read_text())
    assert direct["url"] == f"file://{repo}" and direct["vcs_info"]["vcs"] == "git", direct
    return {"python": python, "kernel": kernel, "jupyter": jupyter, "env": env, "tmp": tmp,
            "install_seconds": seconds, "setup_output": setup_only.cells[0].outputs}


def run_lab(nb, folder: Path, kernel: str, jupyter: Path, env: dict, timeout: int = 600):
    """Execute ``nb`` in ``folder`` with the kernel ``kernel`` found under ``jupyter``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter))
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name=kernel,
                                resources={"metadata": {"path": str(folder)}})
        client.execute(env=env)
    return nb


def student_lab_with_answers(name: str) -> nbformat.NotebookNode:
    """labs/NAME.ipynb with every exercise filled in from the solution (hidden tests stay out)."""
    lab = nbformat.read(build.LABS / f"{name}.ipynb", as_version=4)
    master = {notebook.grade_id(c): c for c in nbformat.read(build.SOLUTIONS / f"{name}.ipynb", as_version=4).cells}
    for cell in lab.cells:
        if notebook.meta(cell).get("solution"):
            cell.source = paste_solution(cell.source, master[notebook.grade_id(cell)].source)
    return lab


def test_setup_cell_installs_invlab_from_the_repository_url(colab):
    text = "".join(o.get("text", "") for o in colab["setup_output"])
    assert "invlab: using cpu" in text, text   # and it says which device it chose


@pytest.mark.parametrize("name", [p.stem for p in build.lab_notebooks(build.LABS)])
def test_lab_runs_outside_the_repository_with_the_installed_package(colab, name):
    folder = colab["tmp"] / f"run-{name}"
    folder.mkdir()
    shutil.copy(build.LABS / f"{name}.ipynb", folder / f"{name}.ipynb")  # the lab alone, as Colab opens it
    nb = student_lab_with_answers(name)
    t0 = time.perf_counter()
    run_lab(nb, folder, colab["kernel"], colab["jupyter"], colab["env"])
    seconds = time.perf_counter() - t0
    failed = [(notebook.grade_id(c) or c.source.splitlines()[0][:60], errors(c)[0]["evalue"][:300])
              for c in nb.cells if c.cell_type == "code" and errors(c)]
    assert failed == [], failed
    passed = [c for c in nb.cells if notebook.meta(c).get("grade")
              and "✔" in "".join(o.get("text", "") for o in c.get("outputs", []))]
    assert len(passed) == len(notebook.graded_ids(nb)), "every graded cell prints its pass line"
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".ipynb") == [f"{name}.ipynb"]
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "installed-lab-times.jsonl", "a") as fh:
        fh.write(json.dumps({"lab": name, "seconds": round(seconds, 1)}) + "\n")
