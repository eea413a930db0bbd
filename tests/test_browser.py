"""Every lab in a real browser: JupyterLab started by `make lab`, driven in headless Chromium.

One server (the Makefile's `lab` target, in a temporary working copy) and one browser for
the module. For the solutions of labs 1 and 7 (all seven with INVLAB_BROWSER_ALL=1; see
SOLUTIONS below), copied into the working copy's solutions/ folder:
Run All from the Run menu, then assert no error and no stderr output, every figure is an
image that loaded (and the saved notebook holds exactly the images the page shows), the
tqdm progress bars appeared as widgets, every widget rendered, and in lab 1 the slider
moves the image. Each blank lab runs up to its first exercise, which must stop with
NotImplementedError and nothing else. A screenshot per notebook goes to
test-artifacts/browser/ (git-ignored).

Needs Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`)
and selenium; without them the module is skipped.
"""
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from labserver import NOISE, LabServer, git_status, skip_reason
from course.notebook import ROOT, meta

from chromium import HAVE_SELENIUM, chromium, why_skip
if HAVE_SELENIUM:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.common.exceptions import StaleElementReferenceException


def _why_skip():
    return why_skip() or skip_reason()


pytestmark = pytest.mark.skipif(_why_skip() is not None, reason=str(_why_skip()))

ARTIFACTS = ROOT / "test-artifacts" / "browser"
# Run All of a whole solution in the browser: lab 1 (its slider is the one ipywidget beyond the
# tqdm bars) and lab 7 (the cheapest) by default. Every lab's solution also runs headless in
# the suite (tests/test_install.py, outside the repository; tests/test_grade_labs.py, through
# the grader), so the browser adds only rendering: the same for every lab. All seven, as a
# release check: INVLAB_BROWSER_ALL=1 make test PYTEST_ARGS=tests/test_browser.py
BROWSER_ALL = os.environ.get("INVLAB_BROWSER_ALL", "") not in ("", "0")
SOLUTIONS = [p for p in sorted((ROOT / "solutions").glob("*.ipynb"))
             if BROWSER_ALL or p.name.startswith(("01_", "07_"))]
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
RUN_TIMEOUT = float(os.environ.get("INVLAB_BROWSER_TIMEOUT", 900))   # seconds per notebook
NOTEBOOK_SETTINGS = {
    # Attach every cell to the page so the test sees all outputs (the default attaches
    # off-screen cells lazily); nothing else differs from a student's JupyterLab.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

# Everything the page shows, cell by cell, in one round trip.
READ_CELLS = """
const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
return cells.map(cell => {
  const code = cell.classList.contains('jp-CodeCell');
  const prompt = code ? (cell.querySelector('.jp-InputArea-prompt')?.textContent || '') : '';
  const outs = [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
      mime: o.getAttribute('data-mime-type') || '',
      nested: !!o.parentElement.closest('.jupyter-widgets'),
      widget: !!o.querySelector('.jupyter-widgets'),
      text: (o.innerText || '').slice(0, 2000),
      imgs: [...o.querySelectorAll('img')].map(i => ({ok: i.complete && i.naturalWidth > 0,
                                                     src: i.src.length}))}));
  return {code, prompt, outs,
          widgets: cell.querySelectorAll('.jupyter-widgets').length,
          progress: cell.querySelectorAll('.widget-hprogress, .widget-vprogress').length,
          sliders: cell.querySelectorAll('.widget-slider').length,
          widget_errors: [...cell.querySelectorAll('.jupyter-widgets')].filter(
              w => /Error displaying widget|Loading widget/.test(w.innerText || '')).length};
});
"""
STDERR = "application/vnd.jupyter.stderr"      # JupyterLab shows errors and stderr with it
TEXT_FALLBACK = re.compile(r"<Figure size [\d.]+x[\d.]+ with \d+ Axes>|^(HBox|VBox|interactive|"
                           r"IntSlider|FloatProgress)\(|\d+%\|")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    before = git_status()
    server = LabServer(tmp, settings=NOTEBOOK_SETTINGS)
    server.start()
    (server.work / "solutions").mkdir()
    for src in SOLUTIONS:                        # the solutions, inside the working copy
        shutil.copyfile(src, server.work / "solutions" / src.name)
    server.git_before = before
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    with chromium() as driver:      # tests/chromium.py: the flags both browser tests use
        yield driver


# ---------------------------------------------------------------- driving JupyterLab
def _wait(what, predicate, timeout, every=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _kernel_idle(lab, path):
    sessions = [s for s in lab.api("sessions") if s.get("path") == path]
    return bool(sessions) and sessions[0]["kernel"]["execution_state"] == "idle"


def _menu(driver, menu, command):
    """Click a menu of JupyterLab's menu bar, then one of its commands (as a student does)."""
    bar = [m for m in driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item")
           if m.text.strip() == menu]
    assert bar, f"no {menu!r} menu in JupyterLab's menu bar"
    bar[0].click()
    item = _wait(f"the {command} menu item", lambda: driver.find_elements(
        By.CSS_SELECTOR, f'.lm-Menu-item[data-command="{command}"]'), 10)
    item[0].click()


def open_notebook(lab, driver, path):
    """Open `path` (relative to the working copy) in a fresh JupyterLab page; wait for its kernel."""
    for s in lab.api("sessions"):                    # one kernel at a time: the CPU is small
        lab.api(f"sessions/{s['id']}", "DELETE")
    driver.get(lab.url(f"lab/tree/{path}", reset=None))
    _wait("the notebook to open", lambda: driver.find_elements(
        By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"), 90)
    _wait("the kernel to start", lambda: _kernel_idle(lab, path), 120)


def run_all(lab, driver, path, timeout=RUN_TIMEOUT):
    """Run → Run All Cells; wait until no cell is queued and the kernel is idle.

    Returns the page's cells and the most progress bars seen on the page at once (tqdm may
    close a bar when it finishes).
    """
    _menu(driver, "Run", "runmenu:run-all")
    seen_progress, quiet_since, deadline = 0, None, time.time() + timeout
    while time.time() < deadline:
        cells = driver.execute_script(READ_CELLS)
        seen_progress = max(seen_progress, sum(c["progress"] for c in cells))
        busy = any("*" in c["prompt"] for c in cells) or not _kernel_idle(lab, path)
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 2:
            return driver.execute_script(READ_CELLS), seen_progress
        time.sleep(0.5)
    screenshot(driver, f"{Path(path).stem}-timeout.png")
    done = sum(bool(re.search(r"\[\d+\]", c["prompt"])) for c in cells if c["code"])
    raise AssertionError(f"{path}: Run All did not finish within {timeout:.0f} s "
                         f"({done} of {sum(c['code'] for c in cells)} code cells ran; "
                         f"INVLAB_BROWSER_TIMEOUT sets the limit)")


def save(lab, driver, path):
    before = lab.api(f"contents/{path}?content=0")["last_modified"]
    _menu(driver, "File", "docmanager:save")
    _wait("the notebook to be saved",
          lambda: lab.api(f"contents/{path}?content=0")["last_modified"] != before, 30)
    # last_modified can change while the file is still being written (seen once in a fresh-clone .ci/run: an
    # empty file): read it once it parses
    return _wait("the saved notebook to be complete on disk", lambda: _read_notebook(lab.work / path), 30,
                 every=0.2)


def _read_notebook(file):
    try:
        return nbformat.read(file, as_version=4)
    except ValueError:                   # nbformat.reader.NotJSONError is one
        return None


def screenshot(driver, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def _scroll_to(driver, element):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)


# ---------------------------------------------------------------- checks
def _problems(cells, upto=None):
    """Error/stderr outputs, figures shown as text, broken images or widgets (cells < upto)."""
    found = []
    for i, c in enumerate(cells[:upto]):
        for o in c["outs"]:
            if o["mime"] == STDERR:
                found.append(f"cell {i}: error or stderr output:\n{o['text'][:1500]}")
            elif not o["nested"] and o["mime"] == "text/plain" and TEXT_FALLBACK.search(o["text"]):
                found.append(f"cell {i}: shown as text, not rendered: {o['text'][:200]!r}")
            bad = [im for im in o["imgs"] if not im["ok"]]
            if bad:
                found.append(f"cell {i}: {len(bad)} image(s) did not load")
            if not o["mime"] and not o["widget"] and not o["imgs"] and not o["text"].strip():
                found.append(f"cell {i}: an output rendered nothing (a widget that did not show?)")
        if c["widget_errors"]:
            found.append(f"cell {i}: a widget failed to render")
    return found


def _saved_pngs(nb):
    return [sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
            for cell in nb.cells]


def _page_pngs(cells):
    return [sum(1 for o in c["outs"] if not o["nested"] and o["mime"] == "image/png" and o["imgs"])
            for c in cells]


def _uses_tqdm(nb):
    return any(re.search(r"\btqdm\b|\btrange\b", c.source) for c in nb.cells if c.cell_type == "code")


def move_slider(driver):
    """Move lab 1's slider with the keyboard; returns (image before, image after) as data URLs."""
    slider = driver.find_element(By.CSS_SELECTOR, ".jp-Notebook .widget-slider")
    cell = slider.find_element(By.XPATH, "ancestor::div[contains(@class, 'jp-Cell')][1]")
    box = slider.find_element(By.XPATH, "ancestor::div[contains(@class, 'widget-interact') or "
                                        "contains(@class, 'widget-vbox')][1]")
    _scroll_to(driver, slider)
    def image():
        """The slider's image sources; None while the widget re-renders them (then _wait retries)."""
        try:
            return [i.get_attribute("src") for i in box.find_elements(By.CSS_SELECTOR, "img")]
        except StaleElementReferenceException:
            return None
    before = _wait("the slider's image", image, 30)
    handle = slider.find_element(By.CSS_SELECTOR, ".noUi-handle, input[type=range]")
    handle.click()
    for _ in range(4):
        handle.send_keys(Keys.ARROW_RIGHT)
    after = _wait("the image to change after the slider moved",
                  lambda: (lambda now: now if now and now != before else None)(image()), 30)
    _scroll_to(driver, cell)
    return before, after


# ---------------------------------------------------------------- the tests
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_runs_in_the_browser(lab, browser, solution):
    path = f"solutions/{solution.name}"
    open_notebook(lab, browser, path)
    cells, progress = run_all(lab, browser, path)
    browser.execute_script("const f = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')];"
                           "if (f.length) f[f.length - 1].scrollIntoView({block: 'center'});")
    screenshot(browser, f"{solution.stem}.png")          # at the last figure
    problems = _problems(cells)
    code = [i for i, c in enumerate(cells) if c["code"]]
    not_run = [i for i in code if not re.search(r"\[\d+\]", cells[i]["prompt"])]
    assert not not_run, f"{path}: cells {not_run} did not run"
    saved = save(lab, browser, path)
    assert len(saved.cells) == len(cells)
    assert _page_pngs(cells) == _saved_pngs(saved), \
        f"{path}: figures on the page {_page_pngs(cells)} vs in the notebook {_saved_pngs(saved)}"
    assert sum(_saved_pngs(saved)) > 0, f"{path}: no figure at all"
    if _uses_tqdm(saved):
        assert progress > 0, f"{path}: tqdm progress bars never appeared as widgets"
    sliders = sum(c["sliders"] for c in cells)
    if solution.name.startswith("01_"):
        assert sliders > 0, f"{path}: the interpolation slider did not render"
    if sliders:
        before, after = move_slider(browser)
        assert before != after
        screenshot(browser, f"{solution.stem}-slider.png")
        problems += _problems(browser.execute_script(READ_CELLS))
    assert not problems, f"{path}:\n" + "\n".join(problems)


@pytest.mark.parametrize("blank", LABS, ids=[p.stem for p in LABS])
def test_blank_lab_runs_up_to_its_first_exercise(lab, browser, blank):
    """Run All stops at the first cell that calls an unwritten exercise: NotImplementedError."""
    nb = nbformat.read(blank, as_version=4)
    first = next(i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and meta(c).get("solution"))
    open_notebook(lab, browser, blank.name)
    cells, _ = run_all(lab, browser, blank.name)
    assert len(cells) == len(nb.cells)
    stop = next((i for i, c in enumerate(cells) if any(o["mime"] == STDERR for o in c["outs"])), None)
    assert stop is not None, f"{blank.name}: Run All raised nothing; the exercises should raise"
    problems = _problems(cells, upto=stop)
    assert not problems, f"{blank.name} before its first exercise:\n" + "\n".join(problems)
    assert stop >= first, f"{blank.name}: cell {stop} fails before the first exercise (cell {first})"
    errors = [o["text"] for o in cells[stop]["outs"] if o["mime"] == STDERR]
    assert len(errors) == 1 and "NotImplementedError" in errors[0], \
        f"{blank.name}: cell {stop} should stop with NotImplementedError only, shows {errors}"
    not_run = [i for i in range(stop) if cells[i]["code"]
               and not re.search(r"\[\d+\]", cells[i]["prompt"])]
    assert not not_run, f"{blank.name}: cells {not_run} before the first exercise did not run"
    _scroll_to(browser, browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")[stop])
    screenshot(browser, f"{blank.stem}-blank.png")


def test_nothing_tracked_changed_and_the_log_is_clean(lab, browser):
    """Last in the module: after every notebook ran and was saved in the working copy."""
    log = lab.log()
    assert "Kernel started" in log
    for noise in NOISE:
        assert noise not in log, f"`make lab` log says {noise!r}"
    assert git_status() == lab.git_before, "the session changed the repository"
