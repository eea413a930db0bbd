"""course/feedback.py on its own: hidden tests and the referee's lines never reach a page, a
traceback frame that shows a hidden line is replaced, math becomes MathML, nothing is remote."""
import nbformat

from course import build, feedback, referee

SOURCE = ("x = 1\ncheck(x == 1)\n### BEGIN HIDDEN TESTS\nsecret_case = 42\ncheck(secret_case > 0)\n"
          "### END HIDDEN TESTS\npassed('x')")


def _graded(source, outputs=()):
    cell = build.graded(source, "test_x", 2)
    cell.outputs = list(outputs)
    return cell


def test_hidden_regions_and_referee_lines_are_cut_from_sources():
    nb = build.new_notebook([_graded(referee.with_markers(SOURCE, "test_x"))])
    hidden = feedback.hidden_lines(nb)
    assert hidden == {"secret_case = 42", "check(secret_case > 0)"}
    clean = feedback.sanitize(nb, hidden).cells[0].source
    assert "secret_case" not in clean and referee.MARK not in clean
    assert feedback.HIDDEN_NOTE.strip() in clean and clean.startswith("x = 1")


def test_a_traceback_frame_showing_a_hidden_line_is_replaced_and_the_message_kept():
    err = nbformat.v4.new_output("error", ename="CheckFailed", evalue="the hidden case fails",
                                 traceback=["frame 1: x = 1", "frame 2: secret_case = 42", "CheckFailed"])
    nb = build.new_notebook([_graded(SOURCE, [err])])
    out = feedback.sanitize(nb, feedback.hidden_lines(nb)).cells[0].outputs[0]
    assert out["traceback"][1].startswith("(a frame of this cell's hidden tests")
    assert feedback.failure_message(nb.cells[0]) == "CheckFailed: the hidden case fails"


def test_the_referees_line_is_cut_from_a_tracebacks_context():
    """IPython shows the lines around the failing one; the grader's first line of a graded cell
    (a student's failing call on line 1) must not appear there."""
    frame = ("\x1b[0;32m      1\x1b[0m __import__(\"sys\").audit(\"invlab.cell\", \"start\", \"test_x\")  "
             + referee.MARK + "\n\x1b[0;32m----> 2\x1b[0m net = IRevNet()\n\x1b[0;32m      3\x1b[0m check(net)")
    err = nbformat.v4.new_output("error", ename="NotImplementedError", evalue="", traceback=[frame])
    nb = build.new_notebook([_graded(SOURCE, [err])])
    shown = feedback.sanitize(nb, feedback.hidden_lines(nb)).cells[0].outputs[0]["traceback"][0]
    assert "invlab referee" not in shown and "audit" not in shown
    assert "net = IRevNet()" in shown and "check(net)" in shown


def test_page_is_offline_with_math_and_the_score_banner():
    md = build.markdown("A flow: $\\log p(x) = \\log p(z) + \\log|\\det J|$ and ![logo](https://example.org/x.png)")
    nb = build.new_notebook([md, _graded(SOURCE)])
    page = feedback.render_html(nb, feedback.hidden_lines(nb), {"test_x": (0.0, 2.0)},
                                {"test_x": "a note from the grader"}, "demo")
    assert "<script" not in page.lower() and "https://example.org" not in page
    assert "<math" in page and "secret_case" not in page
    banner = page.index('id="grade-test_x"')
    assert "0 / 2 points" in page[banner:banner + 300] and "a note from the grader" in page[banner:banner + 400]
