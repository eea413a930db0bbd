"""nbgrader for `make lab-instructor` (found through JUPYTER_CONFIG_PATH).

Author labs with the "Create Assignment" cell toolbar in solutions/; build the student
labs with `make labs` (course/build.py), not formgrader's Generate button. formgrader
and its gradebook get a git-ignored scratch course folder: .nbgrader/ at the top.
"""
import os

try:
    c = get_config()  # noqa: F821 (traitlets' config loader provides it)
except NameError:     # imported as a module (pytest --doctest-modules): nothing to configure
    from traitlets.config import Config
    c = Config()

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
c.CourseDirectory.root = os.path.join(REPO, ".nbgrader")
