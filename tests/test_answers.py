"""invlab.answers: one table of reference answers, read by the graded cell and the grader alike."""
import nbformat
import pytest
import torch

import invlab
from course import build, integrity, notebook
from invlab import answers, checks, flows, mmd


def test_tripwire_arms_every_route_and_restores():
    from invlab.mmd import mmd2 as alias
    x, y = torch.zeros(4, 1), torch.ones(4, 1)
    want = mmd.mmd2(x, y)
    routes = [lambda: alias(x, y), lambda: invlab.mmd2(x, y),
              lambda: eval("__import__('invlab').mmd.mmd2")(x, y),
              lambda: getattr(invlab, "".join(["mm", "d2"]))(x, y)]
    for route in routes:
        with answers.tripwire(["invlab.mmd.mmd2"]) as used:
            with pytest.raises(answers.ReferenceUsed):
                route()
        assert used == ["invlab.mmd.mmd2"]
    assert torch.equal(mmd.mmd2(x, y), want), "the tripwire must put the real code back"


def test_tripwire_arms_classes_with_super_and_decorated_methods():
    with answers.tripwire(["invlab.flows.Flow", "invlab.iresnet.SpectralNorm"]) as used:
        with pytest.raises(answers.ReferenceUsed):
            flows.Flow(invlab.ActNorm(2), shape=(2,))
        with pytest.raises(answers.ReferenceUsed):
            invlab.SpectralNorm(torch.nn.Linear(2, 2), c=0.9)
    assert used == ["invlab.flows.Flow", "invlab.iresnet.SpectralNorm"]
    sn = invlab.SpectralNorm(torch.nn.Linear(2, 2), c=0.9)   # restored, decorated power_iteration too
    assert sn(torch.randn(3, 2)).shape == (3, 2)


def test_own_work_passes_a_student_answer_and_names_a_reference():
    def mmd2_unbiased(x, y):
        return (x.mean() - y.mean()) ** 2
    with checks.own_work("03", "ex2_mmd", mmd2_unbiased):
        mmd2_unbiased(torch.zeros(3, 1), torch.ones(3, 1))
    namespace = {}
    exec("import invlab\nM = invlab.mmd\n"        # an alias made in another cell, a decoded name
         "def mmd2_unbiased(x, y):\n    return getattr(M, bytes([109, 109, 100, 50]).decode())(x, y)",
         namespace)
    with pytest.raises(checks.CheckFailed, match=r"^mmd2_unbiased calls the course's own implementation "
                                                 r"\(invlab.mmd.mmd2\)"):
        with checks.own_work("03", "ex2_mmd", namespace["mmd2_unbiased"]):
            try:       # a student who catches the refusal gains nothing
                namespace["mmd2_unbiased"](torch.zeros(3, 1), torch.ones(3, 1))
            except AssertionError:
                pass


def test_own_work_reads_a_class_by_its_bases_and_methods():
    """A class made in a notebook keeps no source, but its methods do: a reference named in a
    method that never runs (or that recurses before reaching the course's code), or a course class
    as a base, is found before anything runs."""
    namespace = {"invlab": invlab, "torch": torch}
    exec(compile("class Coupling(invlab.InvertibleModule):\n"
                 "    def inverse(self, y):\n"
                 "        return invlab.AffineCoupling.inverse(self, y)\n", "<cell>", "exec"), namespace)
    import linecache                      # what IPython does for every cell: keep its source
    linecache.cache["<cell>"] = (0, None, ["class Coupling(invlab.InvertibleModule):\n", "    def inverse(self, y):\n",
                                          "        return invlab.AffineCoupling.inverse(self, y)\n"], "<cell>")
    with pytest.raises(checks.CheckFailed, match=r"^Coupling calls the course's own implementation "
                                                 r"\(invlab\.coupling\.AffineCoupling\)"):
        with checks.own_work("02", "ex2_coupling", namespace["Coupling"]):
            pass
    class ActNorm(invlab.ActNorm):        # a subclass of the answer, never called
        pass
    with pytest.raises(checks.CheckFailed, match=r"^ActNorm calls the course's own implementation "
                                                 r"\(invlab\.coupling\.ActNorm\)"):
        with checks.own_work("02", "ex4_actnorm", ActNorm):
            pass
    class Fine(invlab.InvertibleModule):  # the contract's base class is allowed
        def forward_with_log_det(self, x):
            return x, x.new_zeros(len(x))
    with checks.own_work("02", "ex4_actnorm", Fine):
        Fine()(torch.zeros(2, 3))


def test_own_work_refuses_unknown_exercises():
    with pytest.raises(ValueError, match="names_for: no exercise 'ex9' of lab '03'"):
        with checks.own_work("03", "ex9"):
            pass


def test_the_graded_cell_and_the_grader_say_the_same_words():
    """The visible cell's message for a reference call is the grader's note, word for word."""
    master = nbformat.read(build.find_lab("03"), as_version=4)
    rules = integrity.rules_for("03_inverse_problems", master)
    body = "def mmd2_unbiased(x, y, bandwidths=(0.05, 0.2, 0.9)):\n    return invlab.mmd2(x, y)"
    nb = nbformat.read(build.find_lab("03", build.LABS), as_version=4)
    for cell in nb.cells:
        if notebook.grade_id(cell) == "ex2_mmd":
            cell.source = body
    note = integrity.violations(nb, rules, set())["test_mmd"]
    namespace = {"invlab": invlab}
    exec(body, namespace)
    with pytest.raises(checks.CheckFailed) as err:
        with checks.own_work("03", "ex2_mmd", namespace["mmd2_unbiased"]):
            namespace["mmd2_unbiased"](torch.zeros(3, 1), torch.ones(3, 1))
    assert str(err.value) == note


@pytest.mark.parametrize("path", build.lab_notebooks(build.SOLUTIONS), ids=lambda p: p.stem)
def test_every_exercise_of_the_table_is_guarded_in_its_graded_cells(path):
    """Each exercise the table lists is checked by ``checks.own_work`` in the graded cells that
    grade it, naming exactly the objects the exercise defines (so the words agree)."""
    master = nbformat.read(path, as_version=4)
    cells = {notebook.grade_id(c): c.source for c in master.cells}
    lab = path.stem.split("_")[0]
    for ex, rule in integrity.rules_for(path.stem, master).items():
        for test in rule["tests"]:                  # every graded cell that grades it (lab 3: test_mmd, test_compare)
            call = f'checks.own_work("{lab}", "{ex}", {", ".join(sorted(rule["defines"]))})'
            assert call in cells[test], f"{test} should run the student's code inside `with {call}:`"
