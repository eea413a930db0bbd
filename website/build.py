"""Build the course site, offline: ``make site`` (student) or ``make site SOLUTIONS=1``.

    python -m website.build                  # -> _build/html/            (what is published)
    python -m website.build --solutions      # -> _build/html-instructor/ (full solutions; never publish)
    python -m website.build --out DIR --cache DIR --no-strict

Everything it writes is under the git-ignored ``_build/``, laid out as Jupyter Book 1 does:
``html/`` (the site), ``jupyter_execute/`` (MyST-NB's copies of the figures, beside the
HTML folder), ``site/student/`` and ``site/instructor/`` (sources, doctrees, nbgrader results).

Two steps. First the Sphinx sources are written into ``CACHE/src`` (only files whose
content changed are rewritten, so Sphinx rebuilds only what changed):

* each lab page is the **student** notebook, made by ``course.build.make_course`` (nbgrader's
  ``generate_assignment``: solution regions blanked, hidden tests removed), with the stored
  outputs of the executed solution put back into every cell that is not an exercise or a
  graded cell. Exercise and graded cells show no output: under a blank exercise a graded
  cell's "passed" line would be false, and what it prints comes partly from hidden tests.
  Nothing is executed; nbgrader runs again only for a solution whose content changed.
  Widget outputs are dropped (progress bars) or replaced by a line of text (the slider):
  their JavaScript would come from a CDN, and every lab draws a static figure anyway;
* the landing page (one figure per lab, from the executed solutions), the syllabus
  (``docs/syllabus.md``, when it exists), the map (``docs/map.md``), the instructors'
  pages (``website/pages/``) and one API page per module of ``invlab``.

Then ``sphinx-build`` (configuration: ``website/conf.py``) writes the HTML, with warnings
as errors unless ``--no-strict``.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import nbformat

from course.notebook import meta

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "website"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# The modules of invlab in the order the labs teach them (docs/map.md); any module not
# named here gets its page too, after these.
API_ORDER = ["base", "env", "data", "squeeze", "revnet", "coupling", "bijections", "mmd", "flows",
             "iresnet", "logdet", "cycle", "reversible", "train", "checks", "plots", "widgets",
             "validate"]
# The landing page's figure of each lab: (grade_id of the cell, which of its images);
# a lab without that cell shows its last figure.
FIGURES = {"01": ("slider", 0), "02": ("table", 0), "03": ("toy", 0), "04": ("toys_fig", 0),
           "05": ("flow", 0), "06": ("inn_plot", 0), "07": ("memory_plot", 0)}
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
_TQDM = re.compile(r"\d+%\|")


# ---------------------------------------------------------------- small helpers
def write_if_changed(path: Path, data) -> bool:
    """Write ``data`` (str or bytes) unless ``path`` already holds it: Sphinx rebuilds by mtime."""
    raw = data.encode() if isinstance(data, str) else data
    if path.exists() and path.read_bytes() == raw:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return True


def is_exercise(cell) -> bool:
    """An exercise (solution) cell or a graded cell: its outputs are the student's to make."""
    return bool(meta(cell).get("solution") or meta(cell).get("grade"))


def title_of(nb) -> str:
    for cell in nb.cells:
        m = re.search(r"^# (.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if m:
            return m.group(1).strip()
    raise ValueError("a lab notebook needs a '# Title' in a markdown cell")


# ---------------------------------------------------------------- lab pages
def released(solutions, cache: Path) -> dict:
    """``{name: student notebook}``, from nbgrader via ``course.build``; a solution whose
    content (and the repository setting) is unchanged reuses its earlier result."""
    from course import build
    repo = build.repository_url()
    out, todo = {}, []
    for src in solutions:
        key = hashlib.sha256(Path(src).read_bytes() + repo.encode()).hexdigest()[:16]
        cached = cache / f"{Path(src).stem}.{key}.ipynb"
        if cached.exists():
            out[Path(src).stem] = nbformat.read(cached, as_version=4)
        else:
            todo.append((src, cached))
    if todo:
        with tempfile.TemporaryDirectory(prefix="invlab-site-") as tmp:
            for name in build.make_course(Path(tmp), [s for s, _ in todo], repo):
                src, cached = next(t for t in todo if Path(t[0]).stem == name)
                for old in cache.glob(f"{name}.*.ipynb"):
                    old.unlink()
                cache.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(tmp) / "release" / name / f"{name}.ipynb", cached)
                out[name] = nbformat.read(cached, as_version=4)
    return out


def static_outputs(outputs) -> list:
    """Outputs a static page can show: progress bars dropped, other widgets a line of text."""
    kept = []
    for out in outputs:
        data = out.get("data", {})
        if WIDGET_MIME in data:
            if _TQDM.search(data.get("text/plain", "")):
                continue
            out = nbformat.v4.new_output("display_data", data={
                "text/plain": "(an interactive widget here: run the notebook to use it)"})
        kept.append(out)
    return kept


def page_notebook(solution, student=None):
    """The lab page: ``student``'s sources with ``solution``'s outputs outside the
    exercises and graded cells; the full solution when ``student`` is None."""
    page = copy.deepcopy(student if student is not None else solution)
    if len(page.cells) != len(solution.cells):
        raise ValueError("the student lab and its solution have different cells")
    for cell, done in zip(page.cells, solution.cells):
        if meta(cell).get("grade_id") != meta(done).get("grade_id"):
            raise ValueError(f"cell {meta(cell).get('grade_id')!r} does not match the solution's "
                             f"{meta(done).get('grade_id')!r}")
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(BADGE, "../figures/colab-badge.svg")
        elif cell.cell_type == "code":
            kind = "exercise" if meta(done).get("solution") else "graded" if meta(done).get("grade") else None
            if kind:                  # MyST-NB gives the cell the class tag_<kind> (site.css labels it)
                cell.metadata["tags"] = [*cell.metadata.get("tags", []), kind]
            hide = student is not None and is_exercise(done)
            cell.outputs = [] if hide else static_outputs(done.outputs)
            cell.execution_count = None if hide else done.get("execution_count")
    page.metadata.pop("widgets", None)
    return page


def lab_figure(nb, lab: str):
    """The PNG (base64 text) of the lab's landing figure."""
    import base64
    gid, index = FIGURES.get(lab, (None, 0))
    cells = [c for c in nb.cells if c.cell_type == "code" and not is_exercise(c)]
    pngs = [o["data"]["image/png"] for c in cells if meta(c).get("grade_id") == gid
            for o in c.outputs if "image/png" in o.get("data", {})]
    if len(pngs) <= index:
        pngs = [o["data"]["image/png"] for c in cells for o in c.outputs if "image/png" in o.get("data", {})][-1:]
        index = 0
    return base64.b64decode(pngs[index]) if pngs else None


def blurb(nb) -> str:
    """The first paragraph of the lab's introduction (after the title and the badge)."""
    text = nb.cells[0].source
    paras = [p.strip() for p in re.split(r"\n\s*\n", text)]
    body = [p for p in paras if p and not p.startswith("#") and "colab" not in p.lower()]
    text = " ".join(body[0].split()) if body else ""
    return text if not text or text[-1] in ".!?" else text.rstrip(",;:") + " …"


# ---------------------------------------------------------------- the other pages
def api_modules() -> list:
    found = sorted(p.stem if p.suffix == ".py" else p.name for p in (ROOT / "invlab").iterdir()
                   if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists()))
    return [m for m in API_ORDER if m in found] + [m for m in found if m not in API_ORDER]


def api_page(module: str) -> str:
    names = [f"invlab.{module}"]
    pkg = ROOT / "invlab" / module
    if pkg.is_dir():
        names += [f"invlab.{module}.{p.stem}" for p in sorted(pkg.glob("[!_]*.py"))]
    body = "\n".join(f"```{{eval-rst}}\n.. automodule:: {n}\n```\n" for n in names)
    return f"# `invlab.{module}`\n\n{body}"


def readme_section(heading: str) -> str:
    """The body of a ``## heading`` section of README.md (the one text for instructors)."""
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        raise ValueError(f"README.md has no '## {heading}' section (the site's instructors page shows it)")
    return m.group(1).strip() + "\n"


def lab_grid(labs: dict, figures: dict) -> str:
    """The landing page's cards: title, figure, first paragraph of each lab."""
    cards = []
    for name, nb in labs.items():
        img = (f"```{{image}} figures/{name}.png\n:alt: a figure of lab {int(name[:2])}\n"
               f":target: labs/{name}.html\n```\n") if figures.get(name) else ""
        cards.append(f":::{{container}} lab-card\n**[{title_of(nb)}](labs/{name}.ipynb)**\n\n{img}\n{blurb(nb)}\n:::\n")
    return "::::{container} lab-grid\n" + "\n".join(cards) + "::::\n"


_MD_LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")


def repo_links(text: str, folder: str, repo: str, site_pages: dict) -> str:
    """Links of a repository document (``folder``/x.md) to the repository's files, rewritten
    for the site: to the page when the site has one (``site_pages``: repo path -> page),
    else to the file on GitHub. Web links and links inside the page stay."""
    def fix(m):
        target = m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            return m.group(0)
        path = os.path.normpath(os.path.join(folder, target)).replace(os.sep, "/")
        if path in site_pages:
            return f"{m.group(1)}{site_pages[path]}{m.group(3)}"
        return f"{m.group(1)}{repo}/blob/main/{path}{m.group(3)}"
    return _MD_LINK.sub(fix, text)


def fill(text: str, values: dict) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def prepare(src: Path, cache: Path, solutions: bool, student_labs: Optional[Path] = None) -> list:
    """Write the Sphinx sources into ``src``; returns the files written (changed).

    ``student_labs``: a folder of student labs already built from solutions/ by
    ``course.build`` (``labs/``, which ``make check-labs`` proves fresh), used instead of
    running nbgrader again."""
    from course import build
    sources = build.lab_notebooks(build.SOLUTIONS)
    solved = {p.stem: nbformat.read(p, as_version=4) for p in sources}
    if solutions:
        student = {}
    elif student_labs:
        student = {p.stem: nbformat.read(build.find_lab(p.stem, student_labs), as_version=4) for p in sources}
    else:
        student = released(sources, cache / "released")
    files = {}
    for name, nb in solved.items():
        page = page_notebook(nb, None if solutions else student[name])
        files[f"labs/{name}.ipynb"] = nbformat.writes(page) + "\n"
        png = lab_figure(nb, name[:2])
        if png:
            files[f"figures/{name}.png"] = png
    repo = build.repository_url()
    values = {"LABS": lab_grid(solved, {n: f"figures/{n}.png" in files for n in solved}),
              "REPO": repo, "NAME": repo.rsplit("/", 1)[1],
              "COLAB_01": build.colab_url(repo, next(iter(solved))),
              "README_INSTRUCTORS": readme_section("For instructors")}
    for page in sorted((HERE / "pages").rglob("*")):
        rel = page.relative_to(HERE / "pages").as_posix()
        if page.is_file():
            files[rel] = fill(page.read_text(), values) if page.suffix == ".md" else page.read_bytes()
    # docs/map.md and docs/syllabus.md (when it exists), their links made to work on the site
    site_pages = {"docs/map.md": "map.md", "docs/syllabus.md": "syllabus.md", "README.md": "index.md",
                  **{f"solutions/{n}.ipynb": f"labs/{n}.ipynb" for n in solved},
                  **{f"labs/{n}.ipynb": f"labs/{n}.ipynb" for n in solved}}
    for name in ("map", "syllabus"):
        doc = ROOT / "docs" / f"{name}.md"
        text = doc.read_text() if doc.exists() else "# Syllabus\n\nThe syllabus (`docs/syllabus.md`) is not written yet.\n"
        files[f"{name}.md"] = repo_links(text, "docs", repo, site_pages)
    mods = api_modules()
    files["api/index.md"] = ("# API reference\n\nThe package `invlab`, one page per module, in the "
                             "order the labs teach them.\n\n```{toctree}\n:maxdepth: 1\n\n"
                             + "\n".join(mods) + "\n```\n")
    for m in mods:
        files[f"api/{m}.md"] = api_page(m)
    written = [rel for rel, data in files.items() if write_if_changed(src / rel, data)]
    for old in src.rglob("*"):           # a page whose source went away
        if old.is_file() and old.relative_to(src).as_posix() not in files:
            old.unlink()
    return written


def sphinx(src: Path, out: Path, doctrees: Path, strict: bool = True, solutions: bool = False) -> int:
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(HERE), "-d", str(doctrees), "-q",
           *(["-W", "--keep-going"] if strict else []), *(["-t", "solutions"] if solutions else []),
           str(src), str(out)]
    rc = subprocess.run(cmd, cwd=ROOT).returncode
    if rc:   # Sphinx keeps what it read despite the warnings: forget it, so the next build says them again
        shutil.rmtree(doctrees, ignore_errors=True)
    return rc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m website.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("--solutions", action="store_true", help="instructors: render the full solutions")
    ap.add_argument("--out", type=Path, help="the HTML folder (default _build/html/, or _build/html-instructor/)")
    ap.add_argument("--cache", type=Path, help="sources, doctrees and nbgrader results (default _build/site/)")
    ap.add_argument("--student-labs", type=Path, help="student labs already built by course.build "
                    "(labs/, when `make check-labs` says it is fresh) instead of running nbgrader")
    ap.add_argument("--no-strict", action="store_true", help="warnings are not errors")
    args = ap.parse_args(argv)
    flavour = "instructor" if args.solutions else "student"
    out = args.out or ROOT / "_build" / ("html-instructor" if args.solutions else "html")
    cache = args.cache or ROOT / "_build" / "site" / flavour
    t0 = time.perf_counter()
    written = prepare(cache / "src", cache, args.solutions, args.student_labs)
    t1 = time.perf_counter()
    rc = sphinx(cache / "src", out, cache / "doctrees", not args.no_strict, args.solutions)
    t2 = time.perf_counter()
    print(f"site ({flavour}): {len(written)} source file(s) changed; prepared in {t1 - t0:.1f} s, "
          f"sphinx {t2 - t1:.1f} s -> {out}" + ("" if rc == 0 else f" (sphinx failed, exit {rc})"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
