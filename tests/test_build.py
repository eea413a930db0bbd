"""The student labs: generated from solutions/ by nbgrader, never stale, never leaking answers."""
import json
import shutil

import nbformat
import pytest

from course import build
from course.notebook import meta

SOLUTIONS = build.lab_notebooks(build.SOLUTIONS)
LABS = build.lab_notebooks(build.LABS)


def test_every_solution_has_a_lab():
    assert SOLUTIONS, "no solution notebooks found"
    assert [p.name for p in LABS] == [p.name for p in SOLUTIONS]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("fresh_labs")
    build.build_labs(build.SOLUTIONS, out, write_solutions=False)
    return out


def test_labs_are_not_stale(fresh):
    assert build.stale_labs(build.SOLUTIONS, build.LABS, fresh) == []
    for lab in LABS:
        assert (fresh / lab.name).read_text() == lab.read_text(), (
            f"labs/{lab.name} is stale: run `make labs` and commit the result")


def test_stale_check_notices_an_edit(fresh, tmp_path):
    labs = tmp_path / "labs"
    shutil.copytree(build.LABS, labs)
    nb = json.loads((labs / LABS[0].name).read_text())
    nb["cells"][0]["source"] = ["edited by hand"]
    (labs / LABS[0].name).write_text(json.dumps(nb))
    (labs / "99_orphan.ipynb").write_text((labs / LABS[0].name).read_text())
    problems = build.stale_labs(build.SOLUTIONS, labs, fresh)
    assert any(LABS[0].name in p and "differs" in p for p in problems)
    assert any("99_orphan" in p and "no solution" in p for p in problems)


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_hides_solutions_and_locks_tests(lab):
    text = lab.read_text()
    for leak in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert leak not in text, f"{lab.name} still contains {leak!r}"
    nb = nbformat.read(lab, as_version=4)
    n_graded = 0
    for cell in nb.cells:
        nbg = meta(cell)
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "outputs must be cleared"
        assert "execution" not in cell.metadata, "the solution's cell timings must not reach the lab"
        if nbg.get("solution"):
            assert "raise NotImplementedError()" in cell.source
        if nbg.get("grade"):
            n_graded += 1
            assert nbg["locked"] and nbg.get("checksum") and nbg["points"] > 0
            assert cell.metadata.get("editable") is False
    assert n_graded >= 3
    assert "widgets" not in nb.metadata, "the solution's widget state must not reach the lab"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_metadata(solution):
    nb = nbformat.read(solution, as_version=4)
    ids = [meta(c)["grade_id"] for c in nb.cells if meta(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    graded = [c for c in nb.cells if meta(c).get("grade")]
    solutions = [c for c in nb.cells if meta(c).get("solution")]
    assert graded and solutions
    assert all("# BEGIN SOLUTION" in c.source for c in solutions)
    assert all("checks.passed(" in c.source for c in graded), "graded cells end with a pass line"
    assert all(meta(c)["schema_version"] == 3 for c in nb.cells if meta(c))
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "REPO_URL" in first_code.source and "invlab.setup(" in first_code.source


def test_solution_cell_helper_demands_a_region():
    with pytest.raises(ValueError, match="no '# BEGIN SOLUTION' region"):
        build.solution("x = 1", "ex")


def test_nbgrader_in_a_fork_answers_as_a_fresh_process_and_dies_on_its_timeout(tmp_path):
    """run_nbgrader forks an nbgrader already imported (warm) instead of starting Python
    afresh: the same output and exit status, in success and in failure, and a run past its
    timeout is killed with its process group."""
    import subprocess
    import time
    for args in (("--version",), ("autograde", "no_such_lab", "--student", "x")):
        cold = build.run_nbgrader(tmp_path, *args, warm=False, timeout=120)
        warm = build.run_nbgrader(tmp_path, *args, warm=True, timeout=120)
        assert warm.returncode == cold.returncode, (args, warm, cold)
        assert warm.stdout == cold.stdout, args
        assert ("no_such_lab" in warm.stderr) == ("no_such_lab" in cold.stderr), (warm.stderr, cold.stderr)
    assert cold.returncode != 0
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        build.run_nbgrader(tmp_path, "--version", warm=True, timeout=0)
    assert time.monotonic() - t0 < 30 and not build._LIVE
