"""The wrong-answer bank of labs 1–3: typical mistakes must fail the VISIBLE graded cell.

Each mistake is a text substitution ``(old, new)`` applied to the solution cell of an
exercise; the mutated solution regions are pasted into the *student* lab (labs/NN) in
place of its ``raise NotImplementedError()`` blanks, the exercise cell and its graded
cell (as the student sees it, without hidden tests) are run, and the graded cell must
fail with the intended message. One kernel per lab: the lab runs once with the correct
solutions pasted (every graded cell must pass), then each mistake re-runs only its
exercise cell and graded cell, and the correct exercise cell restores the state.
"""
from __future__ import annotations

import functools
import re

import nbformat
import pytest

from notebooks import ROOT, KernelSession, errors, grade_id, nbgrader_meta, paste_solution, stderr

LABS = {"01": "01_irevnet", "02": "02_bijections", "03": "03_inverse_problems"}

# Cells a lab's graded cells do not need (figures, side studies): skipped to keep the test fast.
SKIP = {
    "01": set(),
    "02": {"examples", "regression", "regression_eval", "compare", "bijective"},
    "03": set(),
}

# (lab, exercise grade_id, graded grade_id, mistake, [(old, new), ...], message regex)
MISTAKES = [
    # ---- lab 1, exercise 1: split_channels / merge_channels
    ("01", "ex1_split", "test_split", "split along the batch dim",
     [("return x[:, : c // 2], x[:, c // 2 :]", "return x.chunk(2, dim=0)")],
     r"cut along the channel dimension \(dim 1\)"),
    ("01", "ex1_split", "test_split", "interleaved channels",
     [("return x[:, : c // 2], x[:, c // 2 :]", "return x[:, 0::2], x[:, 1::2]")],
     r"FIRST half of the channels"),
    ("01", "ex1_split", "test_split", "no ValueError for odd C",
     [('    if c % 2:\n        raise ValueError(f"split_channels: need an even number of channels, got {c}")\n', "")],
     r"3 channels should raise a ValueError .*returned instead of raising"),
    ("01", "ex1_split", "test_split", "assert instead of ValueError",
     [('if c % 2:\n        raise ValueError(f"split_channels: need an even number of channels, got {c}")',
       'assert c % 2 == 0, "odd C"')],
     r"it raised AssertionError: use `raise ValueError"),
    ("01", "ex1_split", "test_split", "merge in the wrong order",
     [("return torch.cat([x1, x2], dim=1)", "return torch.cat([x2, x1], dim=1)")],
     r"merge_channels\(\*split_channels\(x\)\) \(should give x back\) differs"),
    ("01", "ex1_split", "test_split", "merge with stack",
     [("return torch.cat([x1, x2], dim=1)", "return torch.stack([x1, x2], dim=1)")],
     r"merge_channels\(\*split_channels\(x\)\).* has shape \(2, 2, 8, 7, 7\); expected \(2, 16, 7, 7\)"),
    # ---- lab 1, exercise 2: the invertible layer
    ("01", "ex2_layer", "test_layer", "inverse puts the halves back swapped",
     [("return merge_channels(y2, y1 - self.F(y2))", "return merge_channels(y1 - self.F(y2), y2)")],
     r"layer\.inverse\(y\) for a random y .*recover x1 first"),
    ("01", "ex2_layer", "test_layer", "inverse adds F instead of subtracting",
     [("return merge_channels(y2, y1 - self.F(y2))", "return merge_channels(y2, y1 + self.F(y2))")],
     r"layer\.inverse\(y\) for a random y"),
    ("01", "ex2_layer", "test_layer", "inverse applies F to y1",
     [("return merge_channels(y2, y1 - self.F(y2))", "return merge_channels(y2, y1 - self.F(y1))")],
     r"layer\.inverse\(y\) for a random y"),
    ("01", "ex2_layer", "test_layer", "forward without the swap",
     [("return merge_channels(self.F(x1) + x2, x1)", "return merge_channels(x1, self.F(x1) + x2)")],
     r"the second half of the output, y2 .*passed through unchanged"),
    ("01", "ex2_layer", "test_layer", "forward shifts by F(x2)",
     [("return merge_channels(self.F(x1) + x2, x1)", "return merge_channels(self.F(x2) + x1, x1)")],
     r"the first half of the output, y1 .*SECOND input half by F applied to the FIRST"),
    ("01", "ex2_layer", "test_layer", "inverse remembers forward's input",
     [("x1, x2 = split_channels(x)\n        return", "self.last_x = x\n        x1, x2 = split_channels(x)\n        return"),
      ("y1, y2 = split_channels(y)\n        return merge_channels(y2, y1 - self.F(y2))", "return self.last_x")],
     r"layer\.inverse\(y\) for a random y"),
    # ---- lab 1, exercise 3: the i-RevNet
    ("01", "ex3_irevnet", "test_irevnet", "layers in a plain list",
     [("self.layers = nn.ModuleList([InvertibleLayer(channels, kernel_size) for _ in range(depth)])",
       "self.layers = [InvertibleLayer(channels, kernel_size) for _ in range(depth)]")],
     r"plain Python list.*nn\.ModuleList"),
    ("01", "ex3_irevnet", "test_irevnet", "one layer repeated",
     [("nn.ModuleList([InvertibleLayer(channels, kernel_size) for _ in range(depth)])",
       "nn.ModuleList([InvertibleLayer(channels, kernel_size)] * depth)")],
     r"has 1 distinct InvertibleLayers.*ONE layer"),
    ("01", "ex3_irevnet", "test_irevnet", "inverse runs the layers in forward order",
     [("for layer in reversed(self.layers):", "for layer in self.layers:")],
     r"does not invert exactly"),
    ("01", "ex3_irevnet", "test_irevnet", "inverse forgets psi",
     [("return self.psi.inverse(z)", "return z")],
     r"must also undo psi"),
    ("01", "ex3_irevnet", "test_irevnet", "head of the wrong size",
     [("nn.Linear(block_size ** 2 * (28 // block_size) ** 2, num_classes)", "nn.Linear(block_size ** 2, num_classes)")],
     r"net\(x\) fails .*784 numbers"),
    # ---- lab 1, exercise 4: accuracy
    ("01", "ex4_accuracy", "test_accuracy", "returns a tensor",
     [("== y[i:i + batch_size].to(dev)).sum().item()", "== y[i:i + batch_size].to(dev)).sum()")],
     r"Python float, got Tensor"),
    ("01", "ex4_accuracy", "test_accuracy", "no eval mode",
     [("    net.eval()\n", "")],
     r"training mode: call net\.eval\(\)"),
    ("01", "ex4_accuracy", "test_accuracy", "no torch.no_grad",
     [("with torch.no_grad():", "if True:")],
     r"computed gradients: wrap"),
    ("01", "ex4_accuracy", "test_accuracy", "argmax over the batch",
     [("logits.argmax(dim=1)", "logits.argmax(dim=0)")],
     r"accuracy\(net, X, y\) fails .*argmax over the classes"),
    ("01", "ex4_accuracy", "test_accuracy", "a percentage",
     [("return correct / len(X)", "return 100 * correct / len(X)")],
     r"a fraction, not a percentage\) is 50"),
    ("01", "ex4_accuracy", "test_accuracy", "one batch for everything",
     [("    net.eval()\n", "    net.eval()\n    batch_size = len(X)\n")],
     r"saw 8 images at once"),
    # ---- lab 1, exercise 5: reconstruction_error
    ("01", "ex5_error", "test_invertible", "calls net(x) for the features",
     [("net.inverse(net.features(x))", "net.inverse(net(x))")],
     r"called net\(x\), which gives the class logits; Φ\(x\) is net\.features\(x\)"),
    ("01", "ex5_error", "test_invertible", "mean of per-image errors",
     [("return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()",
       "return ((x - x_rec).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)).mean().item()")],
     r"one number for the whole batch"),
    ("01", "ex5_error", "test_invertible", "squared norms",
     [("return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()",
       "return (torch.linalg.vector_norm(x - x_rec) ** 2 / torch.linalg.vector_norm(x) ** 2).item()")],
     r"not squared"),
    ("01", "ex5_error", "test_invertible", "returns a tensor",
     [("torch.linalg.vector_norm(x)).item()", "torch.linalg.vector_norm(x))")],
     r"Python float, got Tensor \(use \.item\(\)\)"),
    ("01", "ex5_error", "test_invertible", "absolute error",
     [("return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()",
       "return torch.linalg.vector_norm(x - x_rec).item()")],
     r"divided by the norm of the whole x"),
    # ---- lab 1, exercise 6: interpolate
    ("01", "ex6_interpolate", "test_interpolate", "pixel blending",
     [("return net.inverse((1 - ts) * z0 + ts * z1)", "return (1 - ts) * x0 + ts * x1")],
     r"pixel blend"),
    ("01", "ex6_interpolate", "test_interpolate", "forgets to map back",
     [("return net.inverse((1 - ts) * z0 + ts * z1)", "return (1 - ts) * z0 + ts * z1")],
     r"has shape \(4, 16, 7, 7\); expected \(4, 1, 28, 28\)"),
    ("01", "ex6_interpolate", "test_interpolate", "t and 1 − t swapped",
     [("return net.inverse((1 - ts) * z0 + ts * z1)", "return net.inverse(ts * z0 + (1 - ts) * z1)")],
     r"frame at t = 0 \(should be x0\)"),
    ("01", "ex6_interpolate", "test_interpolate", "a list of frames",
     [("return net.inverse((1 - ts) * z0 + ts * z1)", "return [net.inverse((1 - t) * z0 + t * z1) for t in ts]")],
     r"should be a torch\.Tensor, but it is a list"),
    ("01", "ex6_interpolate", "test_interpolate", "t squared",
     [("return net.inverse((1 - ts) * z0 + ts * z1)", "return net.inverse((1 - ts ** 2) * z0 + ts ** 2 * z1)")],
     r"evenly spaced on the straight line"),
]


def _cells(nb) -> dict:
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def _mutate(source: str, subs) -> str:
    for old, new in subs:
        assert old in source, f"mistake does not apply: {old!r} not in the solution cell"
        source = source.replace(old, new)
    return source


def _error(cell) -> str:
    errs = errors(cell)
    return f"{errs[0]['ename']}: {errs[0]['evalue']}" if errs else ""


@functools.lru_cache(maxsize=None)
def lab_results(lab: str) -> dict:
    """Run the lab once with the correct solutions, then every mistake; returns the outcomes."""
    name = LABS[lab]
    student = nbformat.read(ROOT / "labs" / f"{name}.ipynb", as_version=4)
    solution = _cells(nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4))
    graded = [i for i, c in enumerate(student.cells) if nbgrader_meta(c).get("grade")]
    out = {"correct": {}, "mistakes": {}}
    with KernelSession() as k:
        for cell in student.cells[: graded[-1] + 1]:
            gid = grade_id(cell)
            if cell.cell_type != "code" or gid in SKIP[lab]:
                continue
            src = paste_solution(cell.source, solution[gid].source) if nbgrader_meta(cell).get("solution") \
                else cell.source
            ran = k.run(src)
            out["correct"][gid] = (_error(ran), stderr(ran) if nbgrader_meta(cell).get("grade") else "")
        lab_cells = _cells(student)
        for m_lab, ex, test, mistake, subs, _ in MISTAKES:
            if m_lab != lab:
                continue
            wrong = paste_solution(lab_cells[ex].source, _mutate(solution[ex].source, subs))
            ex_err = _error(k.run(wrong))
            test_err = _error(k.run(lab_cells[test].source))
            out["mistakes"][(ex, mistake)] = (ex_err, test_err)
            k.run(paste_solution(lab_cells[ex].source, solution[ex].source))   # restore
    return out


@pytest.mark.parametrize("lab", sorted(LABS))
def test_correct_solutions_pass_every_visible_graded_cell(lab):
    results = lab_results(lab)["correct"]
    failed = {gid: err for gid, (err, _) in results.items() if err}
    assert not failed, f"lab {lab}: cells fail with the correct solutions pasted: {failed}"
    noisy = {gid: err for gid, (_, err) in results.items() if err}
    assert not noisy, f"lab {lab}: graded cells write to stderr (nbgrader scores it 0): {noisy}"


@pytest.mark.parametrize("lab, exercise, graded, mistake, subs, message", MISTAKES,
                         ids=[f"{m[0]}-{m[1]}-{m[3]}" for m in MISTAKES])
def test_visible_graded_cell_catches_the_mistake(lab, exercise, graded, mistake, subs, message):
    ex_err, test_err = lab_results(lab)["mistakes"][(exercise, mistake)]
    assert not ex_err, f"the mistake broke the exercise cell itself: {ex_err}"
    assert test_err, f"the visible graded cell {graded} PASSES the mistake '{mistake}'"
    assert re.search(message, test_err, re.S), \
        f"{graded} fails, but not with the intended message /{message}/:\n{test_err}"
    assert test_err.startswith("CheckFailed"), f"the failure is not a check's message: {test_err}"


def test_every_exercise_has_three_mistakes():
    for lab, name in LABS.items():
        nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
        exercises = [grade_id(c) for c in nb.cells if nbgrader_meta(c).get("solution")]
        for ex in exercises:
            n = sum(1 for m in MISTAKES if m[0] == lab and m[1] == ex)
            assert n >= 3, f"lab {lab} exercise {ex} has {n} mistakes in the bank; expected ≥ 3"
