"""`make lab` serves the student's working copy without nbgrader's instructor UI;
`make lab-instructor` serves solutions/ with it; neither log has the known warnings."""
import json
import subprocess
import time

import nbformat
import pytest

from labserver import NOISE, LabServer, git_status, skip_reason
from course.notebook import ROOT

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))

NBGRADER_SERVER = "nbgrader.server_extensions"


def _page_config(page: str) -> dict:
    start = page.index('id="jupyter-config-data"')
    body = page[page.index(">", start) + 1:]
    return json.loads(body[:body.index("</script>")])


def _start_kernel_and_wait(lab: LabServer, seconds: float = 60):
    """Start a kernel, wait until it answers (its startup log is then written), shut it down."""
    from jupyter_client import BlockingKernelClient
    kernel = lab.api("kernels", "POST", {"name": "python3"})
    client = BlockingKernelClient(connection_file=str(lab.runtime / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels(hb=False)
    try:
        client.kernel_info()
        assert client.get_shell_msg(timeout=seconds)["msg_type"] == "kernel_info_reply"
    finally:
        client.stop_channels()
    time.sleep(0.5)
    lab.api(f"kernels/{kernel['id']}", "DELETE")
    return kernel


def test_make_lab_serves_the_working_copy_without_instructor_ui(tmp_path):
    before = git_status()
    with LabServer(tmp_path) as lab:
        assert "JupyterLab" in lab.page
        names = {c["name"] for c in lab.api("contents")["content"]}
        labs = {p.name for p in (ROOT / "labs").glob("*.ipynb")}
        assert labs and labs <= names, f"the working copy should hold every lab, has {sorted(names)}"
        disabled = _page_config(lab.page)["disabledExtensions"]
        assert "@jupyter/nbgrader" in disabled, disabled
        # The student's server reaches nothing outside the working copy.
        with pytest.raises(OSError):
            lab.api("contents/../labs/01_irevnet.ipynb")
        # A student runs a kernel, edits and saves a notebook.
        _start_kernel_and_wait(lab)
        name = sorted(labs)[0]
        model = lab.api(f"contents/{name}")
        nb = nbformat.from_dict(model["content"])
        nb.cells.append(nbformat.v4.new_code_cell("print('my answer')"))
        lab.api(f"contents/{name}", "PUT", {"type": "notebook", "format": "json", "content": nb})
        assert "my answer" in (lab.work / name).read_text()
    log = lab.log()
    assert "invlab: copied labs/" in log
    assert NBGRADER_SERVER not in log, "nbgrader's server extensions are for instructors"
    for noise in NOISE:
        assert noise not in log, f"`make lab` log says {noise!r}:\n{log[-3000:]}"
    assert git_status() == before, "a student's session changed the repository"


def test_the_default_working_copy_is_ignored_by_git():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "check-ignore", "-q", "work/01_irevnet.ipynb"], cwd=ROOT)
    assert out.returncode == 0, "work/ must be git-ignored"


def test_make_lab_instructor_serves_solutions_with_nbgrader(tmp_path):
    with LabServer(tmp_path, target="lab-instructor") as lab:
        names = {c["name"] for c in lab.api("contents")["content"]}
        assert {p.name for p in (ROOT / "solutions").glob("*.ipynb")} <= names
        assert "@jupyter/nbgrader" not in _page_config(lab.page)["disabledExtensions"]
        with lab.opener.open(lab.url("formgrader"), timeout=30) as r:
            assert r.status == 200
        _start_kernel_and_wait(lab)
    log = lab.log()
    assert NBGRADER_SERVER in log
    for noise in NOISE:
        assert noise not in log, f"`make lab-instructor` log says {noise!r}:\n{log[-3000:]}"
