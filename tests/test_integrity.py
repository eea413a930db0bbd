"""course/integrity.py: the grader reads the notebook for calls to the course's own answers
(the table is invlab.answers.REFERENCES), however the call is spelled or where it is bound."""
import nbformat
import pytest

from course import build
from course.notebook import meta


def _lab3_with(body, scratch=None):
    """The notebook scan of lab 3 with ``body`` in the MMD exercise (and a ``scratch`` cell of
    the student's own just before it)."""
    from course import integrity
    master = nbformat.read(build.find_lab("03"), as_version=4)
    rules = integrity.rules_for("03_inverse_problems", master)
    locked = {meta(c).get("grade_id") for c in master.cells if meta(c).get("locked")}
    nb = nbformat.read(build.find_lab("03", build.LABS), as_version=4)
    for k, cell in enumerate(nb.cells):
        if meta(cell).get("grade_id") == "ex2_mmd":
            cell.source = body
            at = k
    if scratch is not None:
        nb.cells.insert(at, nbformat.v4.new_code_cell(scratch))
    return integrity.violations(nb, rules, locked)


@pytest.mark.parametrize("body", [
    "def mmd2_unbiased(x, y, bandwidths=(0.05, 0.2, 0.9)):\n    return invlab.mmd2(x, y)",
    "from invlab.mmd import mmd2 as m\ndef mmd2_unbiased(x, y, bandwidths=1):\n    return m(x, y)",
    "import invlab as il\nM = il.mmd\ndef mmd2_unbiased(x, y, bandwidths=1):\n    return M.mmd2_unbiased(x, y)",
    "def mmd2_unbiased(x, y, bandwidths=1):\n    return vars(invlab)['mmd2'](x, y)",
    "import sys\ndef mmd2_unbiased(x, y, bandwidths=1):\n    return sys.modules['invlab.mmd'].mmd2(x, y)",
    "def mmd2_unbiased(x, y, bandwidths=1):\n    return eval('invlab.mmd2(x, y)')",
    "def mmd2_unbiased(x, y, bandwidths=1):\n    return invlab.multiscale_kernel(x, y).mean()",
])
def test_reference_answer_tricks_are_caught(body):
    found = _lab3_with(body)
    assert set(found) == {"test_mmd", "test_compare"} and "mmd2_unbiased" in found["test_mmd"], found


def test_other_package_calls_stay_allowed_and_solutions_are_clean():
    from course import integrity
    assert _lab3_with("def mmd2_unbiased(x, y, bandwidths=1):\n    return invlab.pairwise_sq_dists(x, y).mean()") == {}
    for lab in ("01", "02", "03", "04", "05", "06", "07"):   # every lab has a table
        path = build.find_lab(lab)
        master = nbformat.read(path, as_version=4)
        rules = integrity.rules_for(path.stem, master)
        locked = {meta(c).get("grade_id") for c in master.cells if meta(c).get("locked")}
        assert rules and integrity.violations(master, rules, locked) == {}, lab


def test_a_rebinding_in_a_cell_of_its_own_is_caught():
    from course import integrity
    master = nbformat.read(build.find_lab("01"), as_version=4)
    rules = integrity.rules_for("01_irevnet", master)
    nb = nbformat.read(build.find_lab("01", build.LABS), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("split_channels = invlab.revnet.split_channels"))
    assert set(integrity.violations(nb, rules, set())) == {"test_split"}


@pytest.mark.parametrize("scratch, body", [
    # a scratch cell binds invlab's names; the answer's own local variables hide them
    ("from invlab import mmd2",
     "def mmd2_unbiased(x, y, bandwidths=1):\n    mmd2 = (x.mean() - y.mean()) ** 2\n    return mmd2"),
    ("kernel = invlab.imq_kernel",
     "def mmd2_unbiased(x, y, bandwidths=1):\n    def kernel(a, b):\n        return a @ b.T\n"
     "    return kernel(x, y).mean()"),
    # a reference is not a call
    (None, "def mmd2_unbiased(x, y, bandwidths=1):\n    assert callable(invlab.mmd2)\n"
           "    return (x.mean() - y.mean()) ** 2"),
    # a computed name is left to the graded cell's tripwire, which sees what is really called
    (None, "def mmd2_unbiased(x, y, bandwidths=1):\n    return getattr(invlab, 'pairwise_' + 'sq_dists')(x, y).mean()"),
])
def test_correct_answers_are_not_refused(scratch, body):
    """A student pass found these refused: a name hidden by a local, a mere reference, and a
    computed name of an allowed helper."""
    assert _lab3_with(body, scratch) == {}


def test_a_scratch_alias_called_in_the_answer_is_still_caught():
    assert set(_lab3_with("def mmd2_unbiased(x, y, bandwidths=1):\n    return m(x, y)",
                          "from invlab import mmd2 as m")) == {"test_mmd", "test_compare"}
