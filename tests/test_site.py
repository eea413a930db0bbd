"""The course site (`make site`), built once for the session into a temporary folder, and
checked like the real thing:

* the build passes with warnings as errors (``-W --keep-going``), and no process of it
  (Sphinx, nbgrader) opens a connection off this machine;
* no page names a remote script, stylesheet, image or frame; every internal link and
  anchor resolves to a file of the site and an ``id`` in it;
* every page loads in headless Chromium, over HTTP from a plain folder server and (the
  landing page and a lab) from ``file://``: no console error, no request outside the site,
  no failed request, every image drawn, every formula typeset by the bundled MathJax;
* each lab page shows every figure its executed solution drew (outside the exercises);
* no file of the student site holds a line of a solution region or of a hidden test
  (the rule of the feedback pages' test: ``course.feedback.hidden_lines``), while the same
  check does find them in the solution notebooks;
* the API reference has one page per module of ``invlab``, in the order the labs teach
  them, with the docstrings' doctest examples.

Needs requirements-site.txt (else skipped) and, for the browser checks, Debian's chromium
and chromium-driver with selenium (else those skip).

Each check was seen to fail on a mutant of website/ (in a scratch copy): a link to a missing
page (the strict build); a urlopen in conf.py (the offline build); html_js_files with a CDN
URL, or MyST-NB's default widget scripts (remote resources, requests, console errors); an
<a> to a missing file and to a missing anchor (links); console.error in a page (console);
MathJax told not to typeset (math); one figure dropped from lab 2 (figures); lab 7 built from
its solution, lab 1's graded cells with their hidden tests (leaks); the API order swapped;
search summaries on (file:// search); nbgrader rerun or skipped (the released labs).
"""
from __future__ import annotations

import functools
import html
import json
import os
import re
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from chromium import chromium, why_skip
from course import build, feedback
from course.notebook import ROOT, meta

try:
    import myst_nb  # noqa: F401
    import sphinx  # noqa: F401
    import sphinx_book_theme  # noqa: F401
    MISSING = None
except ImportError as e:
    MISSING = f"the site's packages are not installed ({e.name}): pip install -r requirements-site.txt"

pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
needs_chromium = pytest.mark.skipif(why_skip() is not None, reason=str(why_skip()))

SOLUTIONS = build.lab_notebooks(build.SOLUTIONS)
# Every Python process of the build (Sphinx, nbgrader) imports this: a connection off this
# machine is written to the log and refused.
OFFLINE_HOOK = """
import os, sys
def _invlab_offline(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        host = str(args[1][0])
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            with open(os.environ["INVLAB_SITE_NETLOG"], "a") as fh:
                fh.write(f"{sys.argv[:2]} -> {args[1]}\\n")
            raise OSError("the site build must not use the network")
sys.addaudithook(_invlab_offline)
"""


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The student site, built once: (html folder, build log, network log)."""
    tmp = tmp_path_factory.mktemp("site")
    (tmp / "hook").mkdir()
    (tmp / "hook" / "sitecustomize.py").write_text(OFFLINE_HOOK)
    netlog = tmp / "network.log"
    env = dict(os.environ, INVLAB_SITE_NETLOG=str(netlog),
               PYTHONPATH=os.pathsep.join([str(tmp / "hook"), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    # The student labs are labs/ (test_build.py proves it is nbgrader's build of solutions/);
    # test_released_labs_are_nbgraders checks the site's own nbgrader path on one lab.
    proc = subprocess.run([sys.executable, "-m", "website.build", "--out", str(tmp / "html"),
                           "--cache", str(tmp / "cache"), "--student-labs", str(build.LABS)],
                          cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    print(f"site built in {time.perf_counter() - t0:.0f} s")
    return tmp / "html", proc, netlog


@pytest.fixture(scope="session")
def html_dir(site):
    out, proc, _ = site
    assert proc.returncode == 0, f"the site build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return out


def pages(html_dir):
    """The site's pages (the theme's template fragments in _static/ are none)."""
    return sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.relative_to(html_dir).parts)


# ---------------------------------------------------------------- reading pages
class Page(HTMLParser):
    """The ids, links and resources of one HTML page, its images inside cell outputs, its text."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path, self.ids, self.links, self.resources, self.text = path, set(), [], [], []
        self.output_pngs, self._divs, self._outputs, self._skip = 0, 0, [], 0
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for key in ("src", "href"):
            if a.get(key) and tag in ("script", "img", "link", "iframe", "source", "embed", "object"):
                self.resources.append((tag, a[key]))
        if tag == "div":
            self._divs += 1
            if "cell_output" in (a.get("class") or "").split():
                self._outputs.append(self._divs)
        if tag == "img" and self._outputs and (a.get("src") or "").endswith(".png"):
            self.output_pngs += 1
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "div":
            if self._outputs and self._outputs[-1] == self._divs:
                self._outputs.pop()
            self._divs -= 1
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


def local_target(page: Path, url: str, root: Path):
    """(file, anchor) of a link inside the site; None for other schemes (mailto:, https:)."""
    if REMOTE.match(url) or re.match(r"^(?:mailto|javascript|data|tel):", url, re.I):
        return None
    parts = urlsplit(url)
    target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


# ---------------------------------------------------------------- the build
def test_the_build_is_strict_and_offline(site):
    out, proc, netlog = site
    assert proc.returncode == 0, f"the site build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    assert "-W" in (ROOT / "website" / "build.py").read_text()     # warnings are errors
    assert not netlog.exists(), f"the build tried the network:\n{netlog.read_text()}"
    assert (out / "index.html").exists() and len(pages(out)) >= 30


def test_released_labs_are_nbgraders(tmp_path):
    """Without --student-labs the site runs nbgrader (course.build.make_course) itself, once
    per solution content: the result has the cells of the student lab in labs/."""
    from website.build import released
    lab = SOLUTIONS[-1]
    first = released([lab], tmp_path)[lab.stem]
    cached = list(tmp_path.glob(f"{lab.stem}.*.ipynb"))
    assert len(cached) == 1
    written = cached[0].stat().st_mtime_ns
    again = released([lab], tmp_path)[lab.stem]        # from the cache: nbgrader does not run
    assert [p.stat().st_mtime_ns for p in tmp_path.glob(f"{lab.stem}.*.ipynb")] == [written]
    student = nbformat.read(build.find_lab(lab.stem, build.LABS), as_version=4)
    for nb in (first, again):
        assert [c.source for c in nb.cells] == [c.source for c in student.cells]


def test_requirements_site_has_lower_bounds_only():
    for line in (ROOT / "requirements-site.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        assert not line or re.fullmatch(r"[A-Za-z0-9_.-]+\s*(>=\s*[\w.]+)?", line), \
            f"requirements-site.txt: {line!r}: plain names with lower bounds (>=) only"


# ---------------------------------------------------------------- links and resources
def test_no_page_names_a_remote_resource(html_dir):
    found = []
    for path in pages(html_dir):
        page = Page(path)
        found += [f"{path.relative_to(html_dir)}: <{tag}> {url}" for tag, url in page.resources
                  if REMOTE.match(url)]
        text = path.read_text()
        found += [f"{path.relative_to(html_dir)}: {m}" for m in
                  re.findall(r"""@import\s+url\(["']?(?:https?:)?//[^)]*\)|url\(["']?(?:https?:)?//[^)]*\)""", text)]
    assert not found, "pages that would download:\n" + "\n".join(found[:20])


def test_every_internal_link_and_anchor_resolves(html_dir):
    cache, broken, checked = {}, [], 0
    root = html_dir.resolve()
    for path in pages(html_dir):
        page = Page(path)
        for url in page.links + [u for _, u in page.resources]:
            target = local_target(path.resolve(), url, root)
            if target is None:
                continue
            file, anchor = target
            checked += 1
            where = f"{path.relative_to(html_dir)}: {url}"
            if root not in file.parents or not file.is_file():
                broken.append(f"{where} (no file {file})")
            elif anchor and file.suffix == ".html":
                if file not in cache:
                    cache[file] = page.ids if file == path.resolve() else Page(file).ids
                ids = cache[file]
                if anchor not in ids:
                    broken.append(f"{where} (no id {anchor!r})")
    assert checked > 500
    assert not broken, f"{len(broken)} broken internal link(s):\n" + "\n".join(broken[:30])


# ---------------------------------------------------------------- the labs
def _solution_pngs(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               and not meta(c).get("solution") and not meta(c).get("grade")
               for o in c.get("outputs", []))


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_each_lab_page_shows_every_figure_of_its_solution(html_dir, solution):
    expected = _solution_pngs(nbformat.read(solution, as_version=4))
    page = Page(html_dir / "labs" / f"{solution.stem}.html")
    assert expected > 0
    assert page.output_pngs == expected, \
        f"{solution.stem}: {page.output_pngs} figure(s) on the page, {expected} in the executed solution"
    assert "raise NotImplementedError()" in "".join(page.text), "the page is not the student version"


SOLUTION_REGION = re.compile(r"^[ \t]*# BEGIN SOLUTION.*?(?:^[ \t]*# END SOLUTION[^\n]*$|\Z)", re.S | re.M)


def secret_lines(pairs):
    """(solution lines, hidden-test lines) of the solutions that no student lab shows: the
    rule of ``course.feedback.hidden_lines``, for solution regions too, over all labs (a line
    one lab hides and another shows is no secret). ``pairs``: (solution, student lab)."""
    seen, solved, hidden = set(), set(), set()
    for master, released in pairs:
        visible = [c.source for c in released.cells]
        outside = [SOLUTION_REGION.sub("", feedback.strip_hidden(c.source)) for c in master.cells]
        seen |= {ln.strip() for src in visible + outside for ln in src.splitlines()}
        solved |= {ln.strip() for c in master.cells for m in SOLUTION_REGION.finditer(c.source)
                   for ln in m.group(0).splitlines()[1:-1]}
        hidden |= feedback.hidden_lines(master, visible)
    keep = lambda lines: {s for s in lines - seen if len(s) >= 10}  # noqa: E731  (as test_grade's check)
    return keep(solved), keep(hidden)


def _site_texts(html_dir):
    """Every text file of the site but the theme's and MathJax's assets (_static/): the text
    of HTML pages, and of notebooks their sources and outputs, as the reader sees them."""
    for path in sorted(html_dir.rglob("*")):
        if not path.is_file() or "_static" in path.relative_to(html_dir).parts:
            continue
        if path.suffix == ".html":
            yield path, html.unescape("".join(Page(path).text))
        elif path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            yield path, "\n".join([c.source for c in nb.cells] + [json.dumps(o, ensure_ascii=False)
                                   for c in nb.cells for o in c.get("outputs", [])])
        elif path.suffix in (".js", ".txt", ".json", ".md", ".py", ".inv"):
            yield path, path.read_text(errors="replace")


def leaks(text, solved, hidden):
    """Solution lines shown as a line of ``text``; hidden-test lines anywhere in it."""
    lines = {ln.strip() for ln in text.splitlines()}
    return sorted(solved & lines) + sorted(h for h in hidden if h in text)


def test_no_solution_line_or_hidden_test_in_the_student_site(html_dir):
    pairs = [(nbformat.read(p, as_version=4), nbformat.read(build.find_lab(p.stem, build.LABS), as_version=4))
             for p in SOLUTIONS]
    solved, hidden = secret_lines(pairs)
    assert len(solved) > 50 and len(hidden) > 50, "too few secret lines to test"
    for master, _ in pairs:       # the check can fail: each solution notebook shows both
        shown = leaks("\n".join(c.source for c in master.cells), solved, hidden)
        assert set(shown) & solved and set(shown) & hidden
    found = []
    for path, text in _site_texts(html_dir):
        leaked = leaks(text, solved, hidden)
        if leaked:
            found.append(f"{path.relative_to(html_dir)}: {leaked[:3]}")
    assert not found, "the student site shows solutions or hidden tests:\n" + "\n".join(found)


# ---------------------------------------------------------------- the API reference
# The order the labs teach the modules in (docs/map.md); the API reference follows it.
TEACHING_ORDER = ["base", "env", "data", "squeeze", "revnet", "coupling", "bijections", "mmd", "flows",
                  "iresnet", "logdet", "cycle", "reversible", "train", "checks", "plots", "widgets",
                  "validate"]


def test_api_reference_one_page_per_module_in_teaching_order(html_dir):
    modules = sorted(p.stem if p.suffix == ".py" else p.name for p in (ROOT / "invlab").iterdir()
                     if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists()))
    index = (html_dir / "api" / "index.html").read_text()
    where = {m: index.find(f'href="{m}.html"') for m in modules}
    missing = [m for m, i in where.items() if i < 0]
    assert not missing, f"modules without an API page: {missing}"
    taught = [m for m in TEACHING_ORDER if m in modules]
    assert sorted(taught, key=where.get) == taught, "the API pages are not in the order the labs teach"
    revnet = Page(html_dir / "api" / "revnet.html")
    assert {"invlab.revnet.split_channels", "invlab.revnet.RevBlock"} <= revnet.ids
    text = (html_dir / "api" / "revnet.html").read_text()
    assert "doctest" in text and "&gt;&gt;&gt;" in text, "doctest examples are not shown"


def test_landing_page_has_the_seven_labs_a_figure_each(html_dir):
    page = Page(html_dir / "index.html")
    for solution in SOLUTIONS:
        assert f"labs/{solution.stem}.html" in page.links
    figures = [u for t, u in page.resources if t == "img" and u.endswith(".png")]
    assert len(figures) == len(SOLUTIONS)
    assert "syllabus.html" in page.links and "api/index.html" in page.links


# ---------------------------------------------------------------- in the browser
class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(html_dir):
    """The site from a plain folder server (as `python -m http.server` serves it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with chromium(logs=True) as driver:
        yield driver


# After load: MathJax done (when the page has math), every image decoded.
SETTLE = """
const done = arguments[arguments.length - 1];
const math = document.querySelectorAll('.math').length;
const ready = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
ready.then(() => Promise.all([...document.images].map(i => i.decode().catch(() => null))))
  .then(() => done({math: math,
                    typeset: document.querySelectorAll('mjx-container').length,
                    merror: document.querySelectorAll('mjx-merror, .MathJax_Error').length,
                    broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0)
                                                .map(i => i.getAttribute('src'))}))
  .catch(e => done({error: String(e)}));
"""


def visit(driver, url, inside):
    """Load ``url``; returns the problems seen: console errors, requests outside ``inside``,
    failed requests, broken images, formulas MathJax did not typeset."""
    driver.get_log("browser"), driver.get_log("performance")      # forget the previous page
    driver.get(url)
    state = driver.execute_async_script(SETTLE)
    problems = [f"console: {e['message'][:300]}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    urls = {}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        params = msg.get("params", {})
        if msg["method"] == "Network.requestWillBeSent":
            req = urls[params.get("requestId")] = params["request"]["url"]  # data:, blob:, chrome:// are no network
            if req.split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp", "file") and not req.startswith(inside):
                problems.append(f"request outside the site: {req}")
        elif msg["method"] == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            problems.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
        elif (msg["method"] == "Network.loadingFailed" and not params.get("canceled")
              and params.get("requestId") in urls):   # not the browser's own, from before this page
            problems.append(f"failed to load ({params.get('errorText')}): {urls[params['requestId']]}")
    if "error" in state:
        problems.append(f"the page's scripts failed: {state['error']}")
    else:
        problems += [f"image not drawn: {src}" for src in state["broken"]]
        if state["math"] and not state["typeset"]:
            problems.append(f"{state['math']} formula(s), none typeset by MathJax")
        if state["merror"]:
            problems.append(f"{state['merror']} formula(s) MathJax could not read")
    return problems


@needs_chromium
def test_every_page_loads_in_chromium_offline(html_dir, served, browser):
    bad, typeset = {}, 0
    for path in pages(html_dir):
        rel = path.relative_to(html_dir).as_posix()
        problems = visit(browser, served + rel, served)
        if problems:
            bad[rel] = problems
    assert not bad, "\n".join(f"{rel}: {p[:5]}" for rel, p in bad.items())


@needs_chromium
@pytest.mark.parametrize("rel", ["index.html", f"labs/{SOLUTIONS[0].stem}.html", "api/flows.html"])
def test_pages_work_from_file_urls(html_dir, browser, rel):
    inside = html_dir.resolve().as_uri() + "/"
    problems = visit(browser, inside + rel, inside)
    assert not problems, f"{rel} from file://: {problems[:5]}"
    if rel.startswith("labs/") or rel.startswith("api/"):
        assert browser.execute_script("return document.querySelectorAll('mjx-container').length") > 0


@needs_chromium
def test_search_finds_pages_from_a_file_url(html_dir, browser):
    inside = html_dir.resolve().as_uri() + "/"
    problems = visit(browser, inside + "search.html?q=coupling", inside)
    deadline = time.time() + 30
    while time.time() < deadline and not browser.execute_script("return document.querySelectorAll('ul.search li').length"):
        time.sleep(0.3)
    hits = browser.execute_script("return [...document.querySelectorAll('ul.search li a')].map(a => a.getAttribute('href'))")
    time.sleep(1)                                       # late errors of the search script
    problems += [f"console: {e['message'][:300]}" for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert any("coupling" in h for h in hits), f"searching 'coupling' found {hits}"
    assert not problems, problems[:5]
