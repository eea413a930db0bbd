"""Sphinx configuration of the course site (``make site``; sources written by website/build.py).

Why Sphinx + MyST-NB + sphinx-book-theme (what Jupyter Book 1 is built on), and not
Jupyter Book 2: Jupyter Book 2 is the ``mystmd`` command line, a Node.js program (its PyPI
wheel bundles the JavaScript and needs Node ≥ 18, or fetches a Node binary with nodeenv),
whose HTML theme is a separate template that it downloads (from api.mystmd.org) on the first
build — not an offline build from this repository — and it has no autodoc: an API reference
from the docstrings of ``invlab`` needs Sphinx. Sphinx, MyST-NB and the book theme are plain
Python packages from PyPI (requirements-site.txt), build from files alone, and read the
stored outputs of the executed solutions (``nb_execution_mode = "off"``: nothing runs).

Offline at view time: MathJax comes from the ``sphinx-mathjax-offline`` package (MathJax 3,
copied into ``_static/mathjax``); no widget JavaScript (MyST-NB would load it from a CDN:
``nb_ipywidgets_js = {}``, and build.py drops widget outputs). tests/test_site.py checks
that a browser loading every page requests nothing outside the site.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))            # invlab and course, for autodoc

from course.build import repository_url  # noqa: E402

project = "invlab"
author = "the invlab course"
copyright = "the invlab course"
html_title = "invlab — invertible neural networks, in seven labs"

extensions = [
    "myst_nb",                 # .md pages and .ipynb lab pages (MyST-NB also loads myst_parser)
    "sphinx.ext.autodoc",      # the API reference from docstrings
    "sphinx.ext.napoleon",     # Google-style "Args:" / "Returns:" sections
    "sphinx-mathjax-offline",  # MathJax 3 served from _static/mathjax: no CDN
]

# MyST: $…$ and $$…$$ math as in the notebooks; ::: fences for the landing page's grid.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"      # outputs are the executed solutions' own (website/build.py)
nb_ipywidgets_js = {}          # never load widget JavaScript from a CDN
nb_merge_streams = True

autodoc_member_order = "bysource"
# Each object on the page of the module that defines it (a module's __all__ also re-exports).
# No sphinx.ext.viewcode: invlab's source holds the reference answers of some exercises
# (course/integrity.py forbids calling them); the student site shows none of them.
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_typehints = "signature"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

exclude_patterns = ["**.ipynb_checkpoints"]
templates_path = []
html_static_path = [str(ROOT / "website" / "static")]
html_css_files = ["site.css"]
html_favicon = str(ROOT / "website" / "static" / "favicon.svg")   # else browsers ask for /favicon.ico
html_context = {"default_mode": "light"}  # else a first visit logs "Got invalid theme mode" (console error)
html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": repository_url(),
    "use_repository_button": True,     # a link, not a request
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "navigation_with_keys": False,
}
html_last_updated_fmt = None
html_show_sphinx = False
# Search works from file:// too: with summaries, searchtools.js fetch()es every hit, which
# browsers refuse for file:// pages (a console error per hit).
html_show_search_summary = False
napoleon_custom_sections = [("Class attributes", "params_style")]


# ---------------------------------------------------------------- docstrings as written
# invlab's docstrings are plain text: formulas sit in indented blocks, and absolute values
# and norms are written |x|. reStructuredText would run such a block into one line and
# read |x| as a substitution. So (after napoleon): an indented block after a paragraph
# becomes a literal block, shown line by line; a bar is escaped, except in ``literals``,
# roles (:math:`…`), ``.. math::``, doctests and literal blocks, where the text
# is shown as is.
_LITERAL = re.compile(r"(``.+?``|:\w+:`[^`]*`)")
_NOT_PROSE = re.compile(r"^(>>>|\.\.|:|[-*+] |\d+[.)] )")


def _indent(line):
    return len(line) - len(line.lstrip())


def _docstring_as_written(app, what, name, obj, options, lines):
    out, prev, block, doctest = [], "", None, False   # block: indent of the line opening a literal block
    for i, line in enumerate(lines):
        body = line.strip()
        if block is not None and (not body or _indent(line) > block):
            out.append(line)                            # inside a literal block: as is
            continue
        block = None
        if (body and i and not lines[i - 1].strip() and prev and _indent(line) > _indent(prev)
                and not _NOT_PROSE.match(prev.strip())):
            out += [" " * _indent(prev) + "::", "", line]   # an indented block after a paragraph
            block = _indent(prev)
            continue
        doctest = body.startswith(">>>") or (doctest and bool(body))
        if body.startswith(".. math::"):                # TeX: as is
            out.append(line)
            block = _indent(line)
            continue
        if not doctest and "|" in line:
            parts = _LITERAL.split(line)
            line = "".join(p if k % 2 else p.replace("|", r"\|") for k, p in enumerate(parts))
        out.append(line)
        if body:
            prev = line
        if body.endswith("::"):
            block = _indent(line)
    lines[:] = out


def setup(app):
    app.connect("autodoc-process-docstring", _docstring_as_written)
