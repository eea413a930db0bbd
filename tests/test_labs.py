"""Every blank lab runs its setup and fails every graded cell (a blank lab earns nothing)."""
import pytest

from course import build
from course.notebook import errors, meta, run_notebook


@pytest.mark.parametrize("lab", build.lab_notebooks(build.LABS), ids=lambda p: p.stem)
def test_blank_lab_fails_every_graded_cell(lab):
    nb = run_notebook(lab)
    first_exercise = next(i for i, c in enumerate(nb.cells) if meta(c).get("solution"))
    for cell in nb.cells[:first_exercise]:
        if cell.cell_type == "code":
            assert not errors(cell), f"setup cell failed in the blank lab:\n{cell.source[:300]}"
    graded = [c for c in nb.cells if meta(c).get("grade")]
    passing = [meta(c)["grade_id"] for c in graded if not errors(c)]
    assert not passing, f"graded cells that pass on a blank {lab.name}: {passing}"
