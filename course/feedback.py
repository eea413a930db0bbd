"""Student feedback: one self-contained HTML page per student, readable offline.

* Hidden tests never leave the grader: the ``### BEGIN HIDDEN TESTS`` …
  ``### END HIDDEN TESTS`` regions are cut from every cell, and traceback frames that
  show a hidden line are replaced by a one-line note (the failure message stays).
* Each graded cell opens with a banner: its score and, when it failed, the failure
  message (or the reason it scored 0: a missing cell, a reference-answer call).
* Math is rendered to MathML on the grading machine (``latex2mathml``): browsers draw
  it natively, with no script and no network. Without latex2mathml the TeX is shown
  as code.
* Widgets fall back to their static output (the labs draw a static figure before each
  slider); no script is left in the page, so it cannot raise JavaScript errors, and no
  resource is loaded from the network (remote images become their alt text).
"""
from __future__ import annotations

import copy
import html
import re
from typing import Dict, Iterable, Optional, Set, Tuple

import nbformat

from course.notebook import meta
from course.referee import MARK, strip_markers

__all__ = ["HIDDEN_BEGIN", "HIDDEN_END", "strip_hidden", "hidden_lines", "sanitize",
           "failure_message", "render_html"]

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?(?:^[ \t]*### END HIDDEN TESTS[^\n]*(?:\n|\Z)|\Z)",
                     re.S | re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
HIDDEN_NOTE = "# (hidden tests of this cell: not shown)\n"


def strip_hidden(source: str) -> str:
    """``source`` with each hidden-test region replaced by a one-line comment."""
    return _HIDDEN.sub(lambda m: re.match(r"[ \t]*", m.group(0)).group(0) + HIDDEN_NOTE, source)


def hidden_lines(master: nbformat.NotebookNode, visible: Iterable[str] = ()) -> Set[str]:
    """The stripped lines of every hidden-test region of ``master`` that are not also
    visible elsewhere: in ``master`` outside hidden regions, or in ``visible`` (sources
    the student sees, e.g. the released lab)."""
    visible = [*visible, *(strip_hidden(c.source) for c in master.cells)]
    seen = {ln.strip() for src in visible for ln in src.splitlines()}
    out = set()
    for cell in master.cells:
        for m in _HIDDEN.finditer(cell.source):
            for ln in m.group(0).splitlines()[1:]:
                s = ln.strip()
                if s and not s.startswith("### END HIDDEN") and s not in seen:
                    out.add(s)
    return out


def _leaks(text: str, hidden: Set[str]) -> bool:
    plain = _ANSI.sub("", text)
    return any(h in plain for h in hidden if len(h) > 3)


def sanitize(nb: nbformat.NotebookNode, hidden: Set[str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` without hidden tests: in sources, tracebacks and widget state; without
    the referee's lines (:data:`course.referee.MARK`) in sources and in traceback context."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.source = strip_markers(strip_hidden(cell.source))
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                frames = []
                for fr in out.get("traceback", []):
                    fr = "\n".join(ln for ln in fr.split("\n") if MARK not in _ANSI.sub("", ln))
                    frames.append("(a frame of this cell's hidden tests: code not shown)"
                                  if _leaks(fr, hidden) else fr)
                out["traceback"] = frames
    return nb


def failure_message(cell) -> Optional[str]:
    """Why a graded cell failed, in one paragraph (None when it passed)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            msg = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".rstrip(": ")
            return _ANSI.sub("", msg)
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = _ANSI.sub("", out.get("text", "")).strip().splitlines()
            return "the cell wrote to stderr (a failure for the autograder): " + (text[-1] if text else "")
    return None


# ---------------------------------------------------------------- math without a network
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])")


def _mathml(tex: str, display: bool) -> str:
    try:
        from latex2mathml.converter import convert
        return convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # missing package or TeX it cannot read: show the TeX as code
        return f"<code>{html.escape(tex)}</code>"


def _protect_math(source: str, store: Dict[str, str]) -> str:
    """Replace each formula of a markdown source by a token; ``store`` maps token -> MathML."""
    def put(markup: str) -> str:
        token = f"INVLABMATH{len(store)}X"
        store[token] = markup
        return token

    parts = _CODE.split(source)
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        p = _DISPLAY.sub(lambda m: put(_mathml(m.group(1), True)), parts[i])
        parts[i] = _INLINE.sub(lambda m: put(_mathml(m.group(1), False)), p)
    return "".join(parts)


# ---------------------------------------------------------------- the page
_CSS = """
.invlab-banner { margin: 6px 0 2px 0; padding: 8px 12px; border-radius: 6px; font-size: 14px;
  border-left: 6px solid; font-family: system-ui, sans-serif; }
.invlab-pass { background: #e8f5e9; border-color: #2e7d32; }
.invlab-fail { background: #fdecea; border-color: #c62828; }
.invlab-banner pre { white-space: pre-wrap; margin: 4px 0 0 0; font-size: 13px; }
.invlab-summary { border-collapse: collapse; margin: 8px 0 16px 0; }
.invlab-summary td, .invlab-summary th { border: 1px solid #bbb; padding: 3px 10px; }
math[display="block"] { display: block; margin: 6px 0; }
"""


def _banner(gid: str, score: float, points: float, message: Optional[str]) -> str:
    ok = message is None and score >= points
    head = f"<b>{html.escape(gid)}</b>: {score:g} / {points:g} point{'s' if points != 1 else ''}"
    body = "" if message is None else f"<pre>{html.escape(message)}</pre>"
    return (f'<div class="invlab-banner {"invlab-pass" if ok else "invlab-fail"}" id="grade-{html.escape(gid)}">'
            f"{head}{' — passed' if ok else ''}{body}</div>")


def render_html(nb: nbformat.NotebookNode, hidden: Set[str], scores: Dict[str, Tuple[float, float]],
                notes: Dict[str, str], title: str, status: str = "") -> str:
    """The feedback page of one student's autograded notebook ``nb``.

    ``scores``: grade_id -> (score, points) for every graded cell of the lab;
    ``notes``: grade_id -> why the grader set the cell to 0 (shown in its banner).
    """
    from nbconvert import HTMLExporter

    nb = sanitize(nb, hidden)
    math: Dict[str, str] = {}
    messages: Dict[str, Optional[str]] = {}
    cells = []
    present = set()
    for cell in nb.cells:
        nbg = meta(cell)
        gid = nbg.get("grade_id")
        if cell.cell_type == "markdown":
            cell.source = _protect_math(cell.source, math)
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                data = out.get("data")
                if data and WIDGET_MIME in data:
                    data.pop(WIDGET_MIME)
                    data["text/plain"] = "(an interactive widget: the static figure above shows what it shows)"
        if nbg.get("grade") and gid in scores:
            present.add(gid)
            msg = notes.get(gid) or failure_message(cell)
            if msg is None and scores[gid][0] < scores[gid][1]:
                msg = "this cell did not earn its points"
            messages[gid] = msg
            token = f"INVLABBANNER{len(math)}X"
            math[token] = _banner(gid, *scores[gid], msg)
            cells.append(nbformat.v4.new_markdown_cell(token))
        cells.append(cell)
    total = sum(s for s, _ in scores.values())
    top = sum(p for _, p in scores.values())
    rows = []
    for gid, (s, p) in scores.items():
        if gid not in present:
            messages[gid] = notes.get(gid) or "this graded cell is missing from your notebook (deleted or renamed)"
        msg = messages.get(gid)
        link = f'<a href="#grade-{html.escape(gid)}">{html.escape(gid)}</a>' if gid in present else html.escape(gid)
        rows.append(f"<tr><td>{link}</td><td>{s:g} / {p:g}</td><td>{html.escape(msg or 'passed')}</td></tr>")
    summary = (f"<h1>Feedback: {html.escape(title)}</h1><p><b>Total: {total:g} / {top:g}</b>"
               + (f" — {html.escape(status)}" if status and status != "graded" else "") + "</p>"
               '<table class="invlab-summary"><tr><th>graded cell</th><th>score</th><th>message</th></tr>'
               + "".join(rows) + "</table>")
    math["INVLABSUMMARYX"] = summary
    nb.cells = [nbformat.v4.new_markdown_cell("INVLABSUMMARYX")] + cells
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = False
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _offline(body)
    body = body.replace("</head>", f"<style>{_CSS}</style>\n</head>", 1)
    for token, markup in sorted(math.items(), key=lambda kv: -len(kv[0])):
        body = body.replace(f"<p>{token}</p>", markup).replace(token, markup)
    return body


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_REMOTE_LINK = re.compile(r"<link\b[^>]*href=[\"']https?://[^>]*>", re.I)
_REMOTE_IMG = re.compile(r"<img\b([^>]*?)src=[\"']https?://[^\"']*[\"']([^>]*)>", re.I)


def _offline(page: str) -> str:
    """Drop every script and remote stylesheet; remote images become their alt text."""
    page = _SCRIPT.sub("", page)
    page = _REMOTE_LINK.sub("", page)

    def alt(m):
        a = re.search(r"alt=[\"']([^\"']*)[\"']", m.group(1) + m.group(2))
        return f"<span>[{a.group(1) if a else 'image'}]</span>"

    return _REMOTE_IMG.sub(alt, page)
