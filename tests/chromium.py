"""Headless Debian Chromium for the browser tests (test_browser.py, test_site.py), set up once.

Needs Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`)
and selenium; :func:`why_skip` says what is missing.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Optional

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                             shutil.which("chromium") or "") if p and os.path.exists(p)), None)
CHROMEDRIVER = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver") or "")
                     if p and os.path.exists(p)), None)
# No first-run page, no background or update traffic, no GPU, no sandbox (containers, root).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False


def why_skip() -> Optional[str]:
    if not HAVE_SELENIUM:
        return "selenium is not installed (pip install -r requirements.txt)"
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "no Chromium here (apt-get install chromium chromium-driver)"
    return None


@contextmanager
def chromium(logs: bool = False):
    """A headless Chromium driven by selenium, with a profile of its own. ``logs``: keep
    the console (``get_log("browser")``) and the network events (``get_log("performance")``)."""
    profile = tempfile.mkdtemp(prefix="chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    if logs:
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
