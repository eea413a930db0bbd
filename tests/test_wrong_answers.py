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

from course.notebook import ROOT, KernelSession, error_line, grade_id, meta, paste_solution, stderr

LABS = {"01": "01_irevnet", "02": "02_bijections", "03": "03_inverse_problems"}

# Cells a lab's graded cells do not need (figures, side studies): skipped to keep the test fast.
SKIP = {
    "01": set(),
    "02": {"examples", "regression_eval", "honest_run", "compare", "bijective", "actnorm_demo"},
    "03": {"wide", "mmd_demo", "compare_plot"},
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
    ("01", "ex1_split", "test_split", "halves of a fixed 8 channels",
     [("return x[:, : c // 2], x[:, c // 2 :]", "return x[:, :8], x[:, 8:]")],
     r"for x of shape \(3, 6, 2, 2\) returns halves of 6 and 0 channels; expected 3 and 3"),
    ("01", "ex1_split", "test_split", "float64 halves",
     [("return x[:, : c // 2], x[:, c // 2 :]", "return x[:, : c // 2].double(), x[:, c // 2 :].double()")],
     r"split_channels\(x\)\[0\] has dtype torch\.float64 for x of dtype torch\.float32: splitting only moves numbers"),
    ("01", "ex1_split", "test_split", "merge in float64",
     [("return torch.cat([x1, x2], dim=1)", "return torch.cat([x1, x2], dim=1).double()")],
     r"merge_channels\(\*split_channels\(x\)\) has dtype torch\.float64"),
    ("01", "ex1_split", "test_split", "input zeroed in place",
     [("return x[:, : c // 2], x[:, c // 2 :]",
       "halves = x[:, : c // 2].clone(), x[:, c // 2 :].clone()\n    x.zero_()\n    return halves")],
     r"split_channels\(x\) changed its input x in place"),
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
    ("01", "ex2_layer", "test_layer", "forward updates a half of x in place",
     [("return merge_channels(self.F(x1) + x2, x1)", "x2 += self.F(x1)\n        return merge_channels(x2, x1)")],
     r"layer\(x\) changed its input x in place"),
    ("01", "ex2_layer", "test_layer", "inverse updates a half of y in place",
     [("return merge_channels(y2, y1 - self.F(y2))", "y1 -= self.F(y2)\n        return merge_channels(y2, y1)")],
     r"layer\.inverse\(y\) changed its input y in place"),
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
     r"undoes the layers in the order of the forward pass: .*reverse order, each with its inverse"),
    ("01", "ex3_irevnet", "test_irevnet", "inverse runs the layers' forward pass",
     [("z = layer.inverse(z)", "z = layer(z)")],
     r"runs the layers' forward pass, layer\(z\), instead of undoing them"),
    ("01", "ex3_irevnet", "test_irevnet", "inverse repeats the forward pass",
     [("for layer in reversed(self.layers):\n            z = layer.inverse(z)",
       "for layer in self.layers:\n            z = layer(z)")],
     r"forward pass again, in the same order: .*reverse order, each with its inverse"),
    ("01", "ex3_irevnet", "test_irevnet", "inverse forgets psi",
     [("return self.psi.inverse(z)", "return z")],
     r"must also undo psi"),
    ("01", "ex3_irevnet", "test_irevnet", "head of the wrong size",
     [("nn.Linear(block_size ** 2 * (28 // block_size) ** 2, num_classes)", "nn.Linear(block_size ** 2, num_classes)")],
     r"net\(x\) fails .*784 numbers"),
    ("01", "ex3_irevnet", "test_irevnet", "psi forgotten in forward",
     [("z = self.psi(x)", "z = x")],
     r"net\.features\(x\) fails \(split_channels: need an even number of channels, got 1\): net\.features\(x\) gets "
     r"images \(B, 1, 28, 28\); psi \(self\.psi\) must come first"),
    ("01", "ex3_irevnet", "test_irevnet", "psi undone before the layers",
     [("""        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return self.psi.inverse(z)""", """        z = self.psi.inverse(z)
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z""")],
     r"net\.inverse\(z\) fails \(split_channels: need an even number of channels, got 1\): .*undo the layers first, "
     r"then psi last"),
    ("01", "ex3_irevnet", "test_irevnet", "layers built for block_size channels",
     [("InvertibleLayer(channels, kernel_size)", "InvertibleLayer(block_size, kernel_size)")],
     r"net\.features\(x\) fails \(.*channels, but got 8 channels instead\): the layers' convolutions expect another "
     r"number of channels than psi gives them"),
    ("01", "ex3_irevnet", "test_irevnet", "body forward under torch.no_grad",
     [("""        z = self.psi(x)
        for layer in self.layers:
            z = layer(z)
        return z""", """        with torch.no_grad():
            z = self.psi(x)
            for layer in self.layers:
                z = layer(z)
        return z""")],
     r"after net\(x\)\.sum\(\)\.backward\(\) the body's weights layers\.0\.F\.0\.weight, layers\.0\.F\.0\.bias, … got "
     r"no gradient"),
    ("01", "ex3_irevnet", "test_irevnet", "features detached",
     [("            z = layer(z)\n        return z", "            z = layer(z)\n        return z.detach()")],
     r"got no gradient, so training would never change them: IRevNetBody\.forward must keep the graph"),
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
     r"is 62\.5: return a fraction in \[0, 1\], not a percentage"),
    ("01", "ex4_accuracy", "test_accuracy", "mean of the per-batch accuracies",
     [("correct = 0\n", "correct = []\n"),
      ("correct += (logits.argmax(dim=1) == y[i:i + batch_size].to(dev)).sum().item()",
       "correct.append((logits.argmax(dim=1) == y[i:i + batch_size].to(dev)).float().mean().item())"),
      ("return correct / len(X)", "return sum(correct) / len(correct)")],
     r"is 0\.6111, the mean of the per-batch accuracies"),
    ("01", "ex4_accuracy", "test_accuracy", "one batch for everything",
     [("    net.eval()\n", "    net.eval()\n    batch_size = len(X)\n")],
     r"saw 8 images at once"),
    ("01", "ex4_accuracy", "test_accuracy", "drops the last, smaller batch",
     [("for i in range(0, len(X), batch_size):", "for i in range(0, len(X) - batch_size + 1, batch_size):")],
     r"is 0\.5000: what you get when the last, smaller batch was left out"),
    ("01", "ex4_accuracy", "test_accuracy", "len(X) // batch_size batches, over the images seen",
     [("for i in range(0, len(X), batch_size):", "for b in range(len(X) // batch_size):\n            i = b * batch_size"),
      ("return correct / len(X)", "return correct / (len(X) // batch_size * batch_size)")],
     r"is 0\.6667: what you get when the last, smaller batch was left out"),
    ("01", "ex4_accuracy", "test_accuracy", "divides by the number of batches × batch_size",
     [("return correct / len(X)", "return correct / (len(range(0, len(X), batch_size)) * batch_size)")],
     r"is 0\.5556 = 5/9: you divided by the number of batches × batch_size"),
    # labels (or images) left on the CPU while the network is on the GPU; simulated on any machine
    # by putting them on the 'meta' device, which fails the same way (a device mismatch)
    ("01", "ex4_accuracy", "test_accuracy", "labels on another device than the logits",
     [("== y[i:i + batch_size].to(dev))", "== y[i:i + batch_size].to(\"meta\"))")],
     r"accuracy\(net, X, y\) fails \(.*device.*\): the network and its logits are on dev; move each batch of labels"),
    ("01", "ex4_accuracy", "test_accuracy", "images on another device than the network",
     [("logits = net(X[i:i + batch_size].to(dev))", "logits = net(X[i:i + batch_size].to(\"meta\"))")],
     r"accuracy\(net, X, y\) fails \(.*device.*\): move each batch of images to dev before calling net"),
    ("01", "ex4_accuracy", "test_accuracy", "slices one image short",
     [("i:i + batch_size]", "i:i + batch_size - 1]")],
     r"with batch_size=3 the network saw batches of 2, 2, 2 images, 6 of the 8: a slice X\[i:j\] stops just before j"),
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
    ("01", "ex5_error", "test_invertible", "x -= x_rec in place",
     [("""        x_rec = net.inverse(net.features(x))
    return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()""",
       """        x_rec = net.inverse(net.features(x))
        norm_x = torch.linalg.vector_norm(x)
        x -= x_rec
    return (torch.linalg.vector_norm(x) / norm_x).item()""")],
     r"reconstruction_error changed its input x in place \(x -= \.\.\., \.sub_\)"),
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
    ("01", "ex6_interpolate", "test_interpolate", "net(x) for the features",
     [("net.features(x0.unsqueeze(0)), net.features(x1.unsqueeze(0))", "net(x0.unsqueeze(0)), net(x1.unsqueeze(0))")],
     r"interpolate called net\(x\), which gives the class logits; Φ\(x\) is net\.features\(x\)"),
    ("01", "ex6_interpolate", "test_interpolate", "net(x) for the end point only",
     [("net.features(x1.unsqueeze(0))", "net(x1.unsqueeze(0))")],
     r"interpolate called net\(x\), which gives the class logits"),
    ("01", "ex6_interpolate", "test_interpolate", "no batch dimension",
     [("net.features(x0.unsqueeze(0)), net.features(x1.unsqueeze(0))", "net.features(x0), net.features(x1)")],
     r"interpolate\(net, x0, x1, \[0, 0\.25, 0\.5, 1\]\) fails \(IRevNet: x must be a tensor of shape \(B, 1, 28, 28\).*\): "
     r"x0 and x1 are single images"),
    # ---- lab 2, exercise 1: exact_match
    ("02", "ex1_exact_match", "test_exact_match", "truncation instead of rounding",
     [("p = torch.round(pred[:, :dim].detach().cpu().double())", "p = pred[:, :dim].detach().cpu().long().double()")],
     r"\.long\(\) or \.int\(\) truncates 2\.6 to 2"),
    ("02", "ex1_exact_match", "test_exact_match", "no rounding",
     [("p = torch.round(pred[:, :dim].detach().cpu().double())", "p = pred[:, :dim].detach().cpu().double()")],
     r"round them to the nearest integer"),
    ("02", "ex1_exact_match", "test_exact_match", "fraction of right coordinates",
     [("(p == t).all(dim=1).double().mean()", "(p == t).double().mean()")],
     r"ALL its coordinates match"),
    ("02", "ex1_exact_match", "test_exact_match", "padding columns compared",
     [("pred[:, :dim]", "pred"), ("target[:, :dim]", "target")],
     r"padding columns are ignored"),
    ("02", "ex1_exact_match", "test_exact_match", "returns a tensor",
     [(".double().mean().item()", ".double().mean()")],
     r"Python float, got Tensor"),
    ("02", "ex1_exact_match", "test_exact_match", "the last coordinate dropped",
     [("pred[:, :dim]", "pred[:, :dim - 1]"), ("target[:, :dim]", "target[:, :dim - 1]")],
     r"with dim=3 is 1\.0, but the last coordinate differs: it was left out"),
    # ---- lab 2, exercise 2: the coupling inverse
    ("02", "ex2_coupling", "test_coupling_inverse", "undoes the first half-step first",
     [("""        s1, t1 = self.s_t(self.net1, y1)
        x2 = (y2 - t1) * torch.exp(-s1)
        s2, t2 = self.s_t(self.net2, x2)
        x1 = (y1 - t2) * torch.exp(-s2)""", """        s2, t2 = self.s_t(self.net2, y2)
        x1 = (y1 - t2) * torch.exp(-s2)
        s1, t1 = self.s_t(self.net1, y1)
        x2 = (y2 - t1) * torch.exp(-s1)""")],
     r"x2 is right, x1 is not"),
    ("02", "ex2_coupling", "test_coupling_inverse", "scale undone before shift",
     [("x2 = (y2 - t1) * torch.exp(-s1)", "x2 = y2 * torch.exp(-s1) - t1")],
     r"second half of inverse\(y\), x2 .*its shift is undone first"),
    ("02", "ex2_coupling", "test_coupling_inverse", "multiplies by exp(s) again",
     [("torch.exp(-s1)", "torch.exp(s1)"), ("torch.exp(-s2)", "torch.exp(s2)")],
     r"second half of inverse\(y\), x2"),
    ("02", "ex2_coupling", "test_coupling_inverse", "s2, t2 from y2",
     [("s2, t2 = self.s_t(self.net2, x2)", "s2, t2 = self.s_t(self.net2, y2)")],
     r"x2 is right, x1 is not: undo the FIRST half-step with s2, t2 computed from the recovered x2"),
    ("02", "ex2_coupling", "test_coupling_inverse", "halves concatenated the wrong way",
     [("return torch.cat([x1, x2], dim=1)", "return torch.cat([x2, x1], dim=1)")],
     r"inverse\(y\), x2 is not close"),
    ("02", "ex2_coupling", "test_coupling_inverse", "y split at d2",
     [("y1, y2 = y[:, :self.d1], y[:, self.d1:]", "y1, y2 = y[:, :self.d2], y[:, self.d2:]")],
     r"block\.inverse\(y\) for Coupling\(5\) fails \(.*cannot be multiplied.*\): net1 reads the first d1 = 2 "
     r"coordinates of y and net2 the last d2 = 3"),
    ("02", "ex2_coupling", "test_coupling_inverse", "y written in place",
     [("x2 = (y2 - t1) * torch.exp(-s1)", "x2 = y2.sub_(t1).mul_(torch.exp(-s1))")],
     r"block\.inverse\(y\) changed its input y in place"),
    # ---- lab 2, exercise 3: the log-determinant
    ("02", "ex3_log_det", "test_log_det", "wrong sign",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return -(s2.sum(dim=1) + s1.sum(dim=1))")],
     r"wrong sign: it is the log-det of the inverse map"),
    ("02", "ex3_log_det", "test_log_det", "first half-step only",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return s2.sum(dim=1)")],
     r"counts only the first half-step"),
    ("02", "ex3_log_det", "test_log_det", "second half-step only",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return s1.sum(dim=1)")],
     r"counts only the second half-step"),
    ("02", "ex3_log_det", "test_log_det", "mean instead of sum",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return s2.mean(dim=1) + s1.mean(dim=1)")],
     r"full Jacobian \(autograd\) is not close.*triangular Jacobian"),
    ("02", "ex3_log_det", "test_log_det", "s without the tanh",
     [("s2, t2 = block.s_t(block.net2, x2)", "s2, t2 = block.net2(x2).chunk(2, dim=1)"),
      ("s1, _ = block.s_t(block.net1, y1)", "s1, _ = block.net1(y1).chunk(2, dim=1)")],
     r"with s exactly as forward applies it"),
    ("02", "ex3_log_det", "test_log_det", "sum of exp(s)",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return torch.exp(s2).sum(dim=1) + torch.exp(s1).sum(dim=1)")],
     r"full Jacobian \(autograd\) is not close"),
    ("02", "ex3_log_det", "test_log_det", "one number for the batch",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return s2.sum() + s1.sum()")],
     r"one value per row\) has shape \(\); expected \(4,\)"),
    ("02", "ex3_log_det", "test_log_det", "the full Jacobian and slogdet",
     [("return s2.sum(dim=1) + s1.sum(dim=1)",
       "J = torch.vmap(torch.func.jacrev(lambda v: block(v[None])[0]))(x)\n    return torch.linalg.slogdet(J).logabsdet")],
     r"coupling_log_det computes a Jacobian or a determinant \(it calls .*slogdet.*\): .*O\(D\) formula"),
    ("02", "ex3_log_det", "test_log_det", "a Jacobian per row and its determinant",
     [("return s2.sum(dim=1) + s1.sum(dim=1)",
       "return torch.stack([torch.autograd.functional.jacobian(lambda v: block(v[None])[0], r).det().abs().log() "
       "for r in x])")],
     r"coupling_log_det computes a Jacobian or a determinant \(it calls det, grad\)"),
    ("02", "ex3_log_det", "test_log_det", "returned in float32",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return (s2.sum(dim=1) + s1.sum(dim=1)).float()")],
     r"coupling_log_det\(block, x\) has dtype torch\.float32 for x of dtype torch\.float64: keep the dtype of x"),
    # ---- lab 2, exercise 5: train_step
    ("02", "ex5_train_step", "test_train_step", "no zero_grad",
     [("    optimizer.zero_grad()\n", "")],
     r"used the old gradients too"),
    ("02", "ex5_train_step", "test_train_step", "zero_grad between the backward calls",
     [("    loss_inv = F.mse_loss", "    optimizer.zero_grad()\n    loss_inv = F.mse_loss")],
     r"used only the inverse loss's gradient"),
    ("02", "ex5_train_step", "test_train_step", "no inverse backward",
     [("    (inverse_weight * loss_inv).backward()\n", "")],
     r"used only the forward loss's gradient"),
    ("02", "ex5_train_step", "test_train_step", "weight forgotten",
     [("(inverse_weight * loss_inv).backward()", "loss_inv.backward()")],
     r"multiplied by inverse_weight"),
    ("02", "ex5_train_step", "test_train_step", "weighted loss returned",
     [("return loss_fwd.item(), loss_inv.item()", "return loss_fwd.item(), inverse_weight * loss_inv.item()")],
     r"inverse loss returned by train_step \(without the weight\)"),
    ("02", "ex5_train_step", "test_train_step", "inverse run on x, compared with y",
     [("F.mse_loss(inn.inverse(y), x)", "F.mse_loss(inn.inverse(x), y)")],
     r"inverse loss returned by train_step is that of inn\.inverse\(x\) compared with y"),
    ("02", "ex5_train_step", "test_train_step", "forward run on y for the inverse loss",
     [("F.mse_loss(inn.inverse(y), x)", "F.mse_loss(inn(y), x)")],
     r"is that of inn\(y\) compared with x: the inverse direction starts from the targets y"),
    ("02", "ex5_train_step", "test_train_step", "clipping after the step",
     [("    torch.nn.utils.clip_grad_norm_(inn.parameters(), max_norm)\n    optimizer.step()\n",
       "    optimizer.step()\n    torch.nn.utils.clip_grad_norm_(inn.parameters(), max_norm)\n")],
     r"max_norm=0\.05 the gradient at optimizer\.step\(\) has norm .*BEFORE optimizer\.step\(\)"),
    ("02", "ex5_train_step", "test_train_step", "no clipping",
     [("    torch.nn.utils.clip_grad_norm_(inn.parameters(), max_norm)\n", "")],
     r"clip it with .*BEFORE optimizer\.step\(\)"),
    ("02", "ex5_train_step", "test_train_step", "a step after each backward",
     [("    loss_fwd.backward()\n", "    loss_fwd.backward()\n    optimizer.step()\n")],
     r"called optimizer\.step\(\) 2 times; expected once"),
    ("02", "ex5_train_step", "test_train_step", "tensors returned",
     [("return loss_fwd.item(), loss_inv.item()", "return loss_fwd, loss_inv")],
     r"losses as Python floats"),
    ("02", "ex5_train_step", "test_train_step", "clipping to a fixed 1.0",
     [("clip_grad_norm_(inn.parameters(), max_norm)", "clip_grad_norm_(inn.parameters(), 1.0)")],
     r"with max_norm=1e6 the gradient at optimizer\.step\(\) was clipped to norm 1 .*clip to the argument max_norm"),
    ("02", "ex5_train_step", "test_train_step", "inverse loss under torch.no_grad",
     [("    loss_inv = F.mse_loss(inn.inverse(y), x)\n",
       "    with torch.no_grad():\n        loss_inv = F.mse_loss(inn.inverse(y), x)\n")],
     r"train_step fails \(.*does not require grad.*\): backward\(\) was called on a loss without gradients; "
     r"compute both losses, the inverse one too, with gradients"),
    ("02", "ex5_train_step", "test_train_step", "inverse loss detached",
     [("loss_inv = F.mse_loss(inn.inverse(y), x)", "loss_inv = F.mse_loss(inn.inverse(y), x).detach()")],
     r"backward\(\) was called on a loss without gradients"),
    ("02", "ex5_train_step", "test_train_step", "losses returned in swapped order",
     [("return loss_fwd.item(), loss_inv.item()", "return loss_inv.item(), loss_fwd.item()")],
     r"returns \(inverse loss, forward loss\): return \(forward loss, inverse loss\) in that order"),
    ("02", "ex5_train_step", "test_train_step", "reduction='sum'",
     [("F.mse_loss(inn(x), y)", "F.mse_loss(inn(x), y, reduction='sum')"),
      ("F.mse_loss(inn.inverse(y), x)", "F.mse_loss(inn.inverse(y), x, reduction='sum')")],
     r"the forward loss returned by train_step is .*the mean squared error, not the sum"),
    # ---- lab 2, exercise 6: honest_scores
    ("02", "ex6_honest", "test_honest", "every row scored",
     [("""        y_hat = model(X[rows].to(dev))
        x_hat = model.inverse(Y[rows].to(dev))
    return {"forward": exact_match(y_hat, Y[rows], dim), "inverse": exact_match(x_hat, X[rows], dim)}""",
       """        y_hat = model(X.to(dev))
        x_hat = model.inverse(Y.to(dev))
    return {"forward": exact_match(y_hat, Y, dim), "inverse": exact_match(x_hat, X, dim)}""")],
     r"scored every row of X and Y: score only the rows `rows`"),
    ("02", "ex6_honest", "test_honest", "inverse compared with Y",
     [('"inverse": exact_match(x_hat, X[rows], dim)', '"inverse": exact_match(x_hat, Y[rows], dim)')],
     r"\['inverse'\] on rows .*compare with the true X\[rows\]"),
    ("02", "ex6_honest", "test_honest", "round trip as the inverse score",
     [("x_hat = model.inverse(Y[rows].to(dev))", "x_hat = model.inverse(model(X[rows].to(dev)))")],
     r"\['inverse'\] on rows"),
    ("02", "ex6_honest", "test_honest", "no eval mode",
     [("    model.eval()\n", "")],
     r"training mode: call model\.eval\(\)"),
    ("02", "ex6_honest", "test_honest", "no torch.no_grad",
     [("with torch.no_grad():", "if True:")],
     r"computed gradients"),
    ("02", "ex6_honest", "test_honest", "directions swapped",
     [('{"forward": exact_match(y_hat, Y[rows], dim), "inverse": exact_match(x_hat, X[rows], dim)}',
       '{"forward": exact_match(x_hat, X[rows], dim), "inverse": exact_match(y_hat, Y[rows], dim)}')],
     r"\['forward'\] on rows \[1, 3, 5, 7\]"),
    ("02", "ex6_honest", "test_honest", "dim ignored (all columns compared)",
     [("exact_match(y_hat, Y[rows], dim)", "exact_match(y_hat, Y[rows], X.shape[1])"),
      ("exact_match(x_hat, X[rows], dim)", "exact_match(x_hat, X[rows], X.shape[1])")],
     r"is 0 in both directions, but only the model's padding columns \(after the first dim = 4\) are wrong"),
    ("02", "ex6_honest", "test_honest", "the lab's test_rows instead of rows",
     [("X[rows]", "X[test_rows]"), ("Y[rows]", "Y[test_rows]")],
     r"honest_scores\(model, X, Y, rows, 4\) for a 10-row X fails \(index \d+ is out of bounds.*\): honest_scores picks "
     r"rows that X and Y do not have"),
    # ---- lab 3, exercise 1: mapping_type
    ("03", "ex1_mapping_type", "test_mapping_type", "injective and surjective swapped",
     [('return "injective"\n    if r == n:\n        return "surjective"', 'return "surjective"\n    if r == n:\n        return "injective"')],
     r"mapping_type\(a tall 3×2 matrix of rank 2\) is 'surjective'; expected 'injective'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "the shape instead of the rank",
     [("r = int(torch.linalg.matrix_rank(A))", "r = min(n, p)")],
     r"mapping_type\(a square 2×2 matrix of rank 1\) is 'bijective'; expected 'neither'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "bijective never returned",
     [("if r == n == p:", "if False:")],
     r"mapping_type\(the 3×3 identity\) is 'injective'; expected 'bijective'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "the determinant",
     [("r = int(torch.linalg.matrix_rank(A))", "r = n if torch.linalg.det(A) != 0 else 0")],
     r"fails .*matrix_rank\) works for matrices of any shape"),
    ("03", "ex1_mapping_type", "test_mapping_type", "tall means injective",
     [("if r == p:", "if n >= p:")],
     r"rank 1\) is 'injective'; expected 'neither'"),
    ("03", "ex1_mapping_type", "test_mapping_type", "capitalised",
     [('return "bijective"', 'return "Bijective"')],
     r"is 'Bijective'; expected 'bijective'"),
    # ---- lab 3, exercise 2: mmd2_unbiased
    ("03", "ex2_mmd", "test_mmd", "the biased estimate",
     [("term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))", "term_xx = k_xx.mean()"),
      ("term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))", "term_yy = k_yy.mean()")],
     r"equals the biased estimate"),
    ("03", "ex2_mmd", "test_mmd", "diagonal left out, divided by n²",
     [("/ (n * (n - 1))", "/ (n * n)"), ("/ (m * (m - 1))", "/ (m * m)")],
     r"what it divides by"),
    ("03", "ex2_mmd", "test_mmd", "distances not squared",
     [(".pow(2).sum(-1)", ".pow(2).sum(-1).sqrt()")],
     r"kernel on SQUARED distances"),
    ("03", "ex2_mmd", "test_mmd", "cross term without its factor 2",
     [("- 2 * k_xy.sum()", "- k_xy.sum()")],
     r"the factor of the cross term"),
    ("03", "ex2_mmd", "test_mmd", "a Python loop over the samples",
     [("""        d = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)      # (len(a), len(b)) squared distances
        return sum(h * h / (h * h + d) for h in bandwidths)""",
       """        rows = []
        for ai in a:
            d = ((ai[None, :] - b) ** 2).sum(-1)
            rows.append(sum(h * h / (h * h + d) for h in bandwidths))
        return torch.stack(rows)""")],
     r"torch operations for 60 points"),
    ("03", "ex2_mmd", "test_mmd", ".item() at the end",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)", "return (term_xx + term_yy - 2 * k_xy.sum() / (n * m)).item()")],
     r"0-dim tensor, got float"),
    ("03", "ex2_mmd", "test_mmd", "bandwidths hard-coded",
     [("for h in bandwidths", "for h in (0.05, 0.2, 0.9)")],
     r"use the bandwidths given as the argument"),
    # ---- lab 3, exercise 3: invert_by_gradient_descent
    ("03", "ex3_adhoc", "test_adhoc", "a mean instead of a sum",
     [("loss = ((f(x) - y) ** 2).sum()", "loss = ((f(x) - y) ** 2).mean()")],
     r"SUM over the starts, not a mean"),
    ("03", "ex3_adhoc", "test_adhoc", "Adam",
     [("""    for _ in range(steps):
        loss = ((f(x) - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x -= lr * grad""", """    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        ((f(x) - y) ** 2).sum().backward()
        opt.step()""")],
     r"that is Adam"),
    ("03", "ex3_adhoc", "test_adhoc", "momentum",
     [("""    for _ in range(steps):
        loss = ((f(x) - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x -= lr * grad""", """    opt = torch.optim.SGD([x], lr=lr, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        ((f(x) - y) ** 2).sum().backward()
        opt.step()""")],
     r"no momentum"),
    ("03", "ex3_adhoc", "test_adhoc", "a factor ½ in the loss",
     [("loss = ((f(x) - y) ** 2).sum()", "loss = 0.5 * ((f(x) - y) ** 2).sum()")],
     r"half as far as it should"),
    ("03", "ex3_adhoc", "test_adhoc", "absolute error instead of squared",
     [("loss = ((f(x) - y) ** 2).sum()", "loss = (f(x) - y).abs().sum()")],
     r"check your loss, L = Σ_i \(f\(x_i\) − y\)²"),
    ("03", "ex3_adhoc", "test_adhoc", "uphill",
     [("x -= lr * grad", "x += lr * grad")],
     r"moved x uphill"),
    ("03", "ex3_adhoc", "test_adhoc", "one step too many",
     [("for _ in range(steps):", "for _ in range(steps + 1):")],
     r"with steps=3 your function took 4 steps"),
    ("03", "ex3_adhoc", "test_adhoc", "x0 changed in place",
     [("x = x0.detach().clone().requires_grad_(True)", "x = x0.requires_grad_(True)")],
     r"x0 after the call \(it must not change"),
    ("03", "ex3_adhoc", "test_adhoc", "not detached",
     [("return x.detach()", "return x")],
     r"return x\.detach\(\)"),
    ("03", "ex3_adhoc", "test_adhoc", "x does not require grad",
     [("x = x0.detach().clone().requires_grad_(True)", "x = x0.detach().clone()")],
     r"fails \(element 0 of tensors does not require grad.*\): L has no gradient with respect to x"),
    ("03", "ex3_adhoc", "test_adhoc", "in-place update outside torch.no_grad",
     [("        with torch.no_grad():\n            x -= lr * grad", "        x -= lr * grad")],
     r"fails \(a leaf Variable that requires grad.*\): x requires grad, so autograd forbids updating it in place"),
    ("03", "ex3_adhoc", "test_adhoc", "100 steps whatever steps says",
     [("for _ in range(steps):", "for _ in range(100):")],
     r"with steps=1 and steps=2 your function returns the same x: it ignores its argument steps"),
    ("03", "ex3_adhoc", "test_adhoc", "a fixed 0.1 instead of lr",
     [("x -= lr * grad", "x -= 0.1 * grad")],
     r"with lr=0\.1 and lr=0\.05 your function returns the same x: it ignores its argument lr"),
    # ---- lab 3, exercise 4: sample_posterior
    ("03", "ex4_sampler", "test_sampler", "[z, y, 0] order",
     [("torch.cat([y_col, z, padding], 1)", "torch.cat([z, y_col, padding], 1)")],
     r"first column \(should be y = 0\.7"),
    ("03", "ex4_sampler", "test_sampler", "no padding",
     [("torch.cat([y_col, z, padding], 1)", "torch.cat([y_col, z], 1)")],
     r"inn\.inverse got a batch of shape \(4000, 2\); expected \(n, DIM\)"),
    ("03", "ex4_sampler", "test_sampler", "uniform z",
     [("z = torch.randn(n, DIM_Z", "z = torch.rand(n, DIM_Z")],
     r"mean of the z column"),
    ("03", "ex4_sampler", "test_sampler", "one z for every row",
     [("z = torch.randn(n, DIM_Z, device=dev)", "z = torch.randn(1, DIM_Z, device=dev).expand(n, DIM_Z)")],
     r"all n samples then share one z"),
    ("03", "ex4_sampler", "test_sampler", "padding of ones",
     [("padding = torch.zeros(", "padding = torch.ones(")],
     r"padding should be zeros"),
    ("03", "ex4_sampler", "test_sampler", "every feature returned",
     [("return x[:, :DIM_X]", "return x")],
     r"sample_posterior\(inn, 0\.7, 4000\) has shape \(4000, 4\)"),
    ("03", "ex4_sampler", "test_sampler", "no torch.no_grad",
     [("with torch.no_grad():", "if True:")],
     r"requires grad: run inn\.inverse inside `with torch\.no_grad\(\):`"),
    ("03", "ex4_sampler", "test_sampler", "a fixed seed inside",
     [("z = torch.randn(n, DIM_Z, device=dev)", "torch.manual_seed(0)\n    z = torch.randn(n, DIM_Z, device=dev)")],
     r"returns the same samples on every call: each call should draw fresh z"),
    ("03", "ex4_sampler", "test_sampler", "one y row, not n",
     [("y_col = torch.full((n, DIM_Y), float(y), device=dev)", "y_col = torch.tensor([[float(y)]], device=dev)")],
     r"sample_posterior\(inn, 0\.7, 4000\) fails \(Sizes of tensors must match.*\): torch\.cat puts y, z and the "
     r"padding side by side"),
    # ---- the course's own answer called (invlab.answers.REFERENCES): the visible cell says the grader's words
    ("01", "ex1_split", "test_split", "calls invlab.split_channels",
     [("return x[:, : c // 2], x[:, c // 2 :]", "return invlab.split_channels(x)")],
     r"^CheckFailed: merge_channels, split_channels calls the course's own implementation "
     r"\(invlab\.revnet\.split_channels\); this exercise asks you to write it yourself, so it scores 0$"),
    ("01", "ex1_split", "test_split", "merge by invlab's merge_channels under another name",
     [("return torch.cat([x1, x2], dim=1)", "from invlab.revnet import merge_channels as glue\n    return glue(x1, x2)")],
     r"calls the course's own implementation \(invlab\.revnet\.merge_channels\)"),
    ("01", "ex2_layer", "test_layer", "forward through invlab.RevBlock",
     [("x1, x2 = split_channels(x)\n        return merge_channels(self.F(x1) + x2, x1)", "return invlab.RevBlock(self.F)(x)")],
     r"^CheckFailed: InvertibleLayer calls the course's own implementation \(invlab\.revnet\.RevBlock\)"),
    ("01", "ex3_irevnet", "test_irevnet", "body built from invlab.RevBlock",
     [("self.layers = nn.ModuleList([InvertibleLayer(channels, kernel_size) for _ in range(depth)])",
       "self.layers = nn.ModuleList([invlab.RevBlock(InvertibleLayer(channels, kernel_size).F) for _ in range(depth)])")],
     r"^CheckFailed: IRevNet, IRevNetBody calls the course's own implementation \(invlab\.revnet\.RevBlock\)"),
    ("01", "ex5_error", "test_invertible", "calls invlab.relative_error",
     [("return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()",
       "return invlab.relative_error(x, x_rec)")],
     r"^CheckFailed: reconstruction_error calls the course's own implementation \(invlab\.base\.relative_error\)"),
    ("01", "ex5_error", "test_invertible", "calls invlab.is_invertible",
     [("    with torch.no_grad():\n        x_rec = net.inverse(net.features(x))\n"
       "    return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()",
       "    return invlab.is_invertible(net.body, x).forward_error")],
     r"calls the course's own implementation \(invlab\.base\.is_invertible\)"),
    ("02", "ex1_exact_match", "test_exact_match", "calls B.exact_match",
     [("return (p == t).all(dim=1).double().mean().item()", "return B.exact_match(pred, target, dim=dim)")],
     r"^CheckFailed: exact_match calls the course's own implementation \(invlab\.bijections\.exact_match\)"),
    ("02", "ex1_exact_match", "test_exact_match", "B.exact_match by a computed name",
     [("return (p == t).all(dim=1).double().mean().item()",
       "return getattr(B, \"exact\" + \"_match\")(pred, target, dim=dim)")],
     r"^CheckFailed: exact_match calls the course's own implementation \(invlab\.bijections\."),
    ("02", "ex2_coupling", "test_coupling_inverse", "inverse of invlab.AffineCoupling",
     [("        y1, y2 = y[:, :self.d1], y[:, self.d1:]\n        s1, t1 = self.s_t(self.net1, y1)",
       "        return invlab.AffineCoupling.inverse(self, y)\n        y1, y2 = y[:, :self.d1], y[:, self.d1:]\n"
       "        s1, t1 = self.s_t(self.net1, y1)")],
     r"^CheckFailed: Coupling calls the course's own implementation \(invlab\.coupling\.AffineCoupling\)"),
    ("02", "ex3_log_det", "test_log_det", "calls invlab.exact_log_det",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return invlab.exact_log_det(block, x)")],
     r"^CheckFailed: coupling_log_det calls the course's own implementation \(invlab\.base\.exact_log_det\)"),
    ("02", "ex4_actnorm", "test_actnorm", "initialises with invlab.ActNorm",
     [("        with torch.no_grad():\n            mean, std = x.mean(dim=0), x.std(dim=0, correction=0)",
       "        invlab.ActNorm._initialize(self, x)\n        with torch.no_grad():\n"
       "            mean, std = x.mean(dim=0), x.std(dim=0, correction=0)")],
     r"^CheckFailed: ActNorm calls the course's own implementation \(invlab\.coupling\.ActNorm\)"),
    ("02", "ex4_actnorm", "test_actnorm", "forward of invlab.ActNorm",
     [("        y = (x + self.b) * torch.exp(self.log_s)\n        return y, self.log_s.sum().expand(len(x))",
       "        return invlab.ActNorm.forward_with_log_det(self, x)")],
     r"^CheckFailed: ActNorm calls the course's own implementation \(invlab\.coupling\.ActNorm\)"),
    ("02", "ex6_honest", "test_honest", "calls B.evaluate",
     [('    return {"forward": exact_match(y_hat, Y[rows], dim), "inverse": exact_match(x_hat, X[rows], dim)}',
       '    r = B.evaluate(lehmer, model, model.inverse, indices=rows, pad_to=X.shape[1])\n'
       '    return {"forward": r["forward_exact"], "inverse": r["inverse_exact"]}')],
     r"^CheckFailed: honest_scores calls the course's own implementation \(invlab\.bijections\.evaluate\)"),
    ("03", "ex2_mmd", "test_mmd", "calls invlab.mmd2",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)", "return invlab.mmd2(x, y, bandwidths=bandwidths)")],
     r"^CheckFailed: mmd2_unbiased calls the course's own implementation \(invlab\.mmd\.mmd2\); "
     r"this exercise asks you to write it yourself, so it scores 0$"),
    ("03", "ex2_mmd", "test_mmd", "invlab's estimator through eval (only the run finds it)",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)",
       "return eval(\"invlab.mmd.\" + \"mmd2_unbiased\")(x, y, bandwidths=bandwidths)")],
     r"^CheckFailed: mmd2_unbiased calls the course's own implementation \(invlab\.mmd\.mmd2_unbiased\)"),
    ("02", "ex6_honest", "test_honest", "calls B.exact_match",
     [("exact_match(y_hat, Y[rows], dim)", "B.exact_match(y_hat, Y[rows], dim=dim)"),
      ("exact_match(x_hat, X[rows], dim)", "B.exact_match(x_hat, X[rows], dim=dim)")],
     r"^CheckFailed: honest_scores calls the course's own implementation \(invlab\.bijections\.exact_match\)"),
    ("03", "ex2_mmd", "test_compare", "calls invlab.mmd2 (the comparison grades it too)",
     [("return term_xx + term_yy - 2 * k_xy.sum() / (n * m)", "return invlab.mmd2(x, y, bandwidths=bandwidths)")],
     r"^CheckFailed: mmd2_unbiased calls the course's own implementation \(invlab\.mmd\.mmd2\); "
     r"this exercise asks you to write it yourself, so it scores 0$"),
    # ---- lab 2, exercise 4: ActNorm
    ("02", "ex4_actnorm", "test_actnorm", "b = +mean",
     [("self.b.copy_(-mean)", "self.b.copy_(mean)")],
     r"b = \+mean of the batch"),
    ("02", "ex4_actnorm", "test_actnorm", "log_s = +log std",
     [("-torch.log(std.clamp_min(self.eps))", "torch.log(std.clamp_min(self.eps))")],
     r"log_s = \+log std: the scale must divide by the std"),
    ("02", "ex4_actnorm", "test_actnorm", "the unbiased std",
     [("x.std(dim=0, correction=0)", "x.std(dim=0)")],
     r"log_s uses the unbiased std \(n − 1\)"),
    ("02", "ex4_actnorm", "test_actnorm", "log of a zero std",
     [("torch.where(std > self.eps, -torch.log(std.clamp_min(self.eps)), torch.zeros_like(std))", "-torch.log(std)")],
     r"the third feature is constant \(std 0\), and −log 0 is infinite"),
    ("02", "ex4_actnorm", "test_actnorm", "new Parameters instead of writing into them",
     [("""        with torch.no_grad():
            mean, std = x.mean(dim=0), x.std(dim=0, correction=0)
            self.b.copy_(-mean)
            self.log_s.copy_(torch.where(std > self.eps, -torch.log(std.clamp_min(self.eps)), torch.zeros_like(std)))""",
       """        mean, std = x.mean(dim=0).detach(), x.std(dim=0, correction=0).detach()
        self.b = nn.Parameter(-mean)
        self.log_s = nn.Parameter(torch.where(std > self.eps, -torch.log(std.clamp_min(self.eps)), torch.zeros_like(std)))""")],
     r"initialize replaced self\.b or self\.log_s by new tensors"),
    ("02", "ex4_actnorm", "test_actnorm", "statistics over the features (dim 1)",
     [("mean, std = x.mean(dim=0), x.std(dim=0, correction=0)", "mean, std = x.mean(dim=1), x.std(dim=1, correction=0)")],
     r"norm\.forward_with_log_det\(x\) on the first batch fails \(.*\): b and log_s hold one number per feature \(3 "
     r"here\), but initialize computed one per row of the batch \(64\): .*not over the features \(dim 1\)"),
    ("02", "ex4_actnorm", "test_actnorm", "scale before shift",
     [("y = (x + self.b) * torch.exp(self.log_s)", "y = x * torch.exp(self.log_s) + self.b")],
     r"y = \(x \+ b\) ⊙ exp\(log_s\) on the first batch is not close .*shift first, then scale"),
    ("02", "ex4_actnorm", "test_actnorm", "log-det a sum of scales",
     [("return y, self.log_s.sum().expand(len(x))", "return y, torch.exp(self.log_s).sum().expand(len(x))")],
     r"log_det on the first batch is not close .*Σ_j log\|s_j\| = Σ_j log_s_j"),
    ("02", "ex4_actnorm", "test_actnorm", "one log-det for the batch",
     [("return y, self.log_s.sum().expand(len(x))", "return y, self.log_s.sum()")],
     r"log_det \(one value per row\) has shape \(\); expected \(64,\)"),
    ("02", "ex4_actnorm", "test_actnorm", "log-det forgotten (zeros)",
     [("return y, self.log_s.sum().expand(len(x))", "return y, torch.zeros(len(x))")],
     r"log_det is 0: a scaling changes volume"),
    ("02", "ex4_actnorm", "test_actnorm", "log-det of the inverse",
     [("return y, self.log_s.sum().expand(len(x))", "return y, -self.log_s.sum().expand(len(x))")],
     r"log_det has the wrong sign"),
    ("02", "ex4_actnorm", "test_actnorm", "log-det as a number (.item())",
     [("return y, self.log_s.sum().expand(len(x))", "return y, torch.full((len(x),), self.log_s.sum().item())")],
     r"log_det carries no gradient to log_s"),
    ("02", "ex4_actnorm", "test_actnorm", "initialises on every batch",
     [("        y = (x + self.b) * torch.exp(self.log_s)\n", "        self.initialize(x)\n        y = (x + self.b) * torch.exp(self.log_s)\n")],
     r"norm\(x2\), a second batch in training mode, changed b and log_s: your forward_with_log_det initialises on "
     r"every call"),
    ("02", "ex4_actnorm", "test_actnorm", "x shifted in place",
     [("y = (x + self.b) * torch.exp(self.log_s)", "x += self.b.detach()\n        y = x * torch.exp(self.log_s)")],
     r"forward_with_log_det changed its input x in place"),
    ("02", "ex4_actnorm", "test_actnorm", "inverse: shift undone before scale",
     [("x = y * torch.exp(-self.log_s) - self.b", "x = (y - self.b) * torch.exp(-self.log_s)")],
     r"inverse_with_log_det\(y\)\[0\] for a random y is not close .*the scale first"),
    ("02", "ex4_actnorm", "test_actnorm", "inverse log-det not negated",
     [("return x, -self.log_s.sum().expand(len(y))", "return x, self.log_s.sum().expand(len(y))")],
     r"the inverse's log-det is not close .*minus the forward one"),
    ("02", "ex4_actnorm", "test_actnorm", "copy_ without torch.no_grad",
     [("""        with torch.no_grad():
            mean, std = x.mean(dim=0), x.std(dim=0, correction=0)
            self.b.copy_(-mean)
            self.log_s.copy_(""", """        mean, std = x.mean(dim=0), x.std(dim=0, correction=0)
        self.b.copy_(-mean)
        self.log_s.copy_(""")],
     r"fails \(a leaf Variable that requires grad is being used in an in-place operation\.\): initialize writes into b "
     r"and log_s in place, and autograd forbids that"),
    ("02", "ex4_actnorm", "test_actnorm", "a tensor assigned to the parameter",
     [("self.b.copy_(-mean)", "self.b = -mean")],
     r"fails \(cannot assign 'torch\.FloatTensor' as parameter 'b'.*\): initialize assigns a plain tensor to a parameter"),
    ("02", "ex4_actnorm", "test_actnorm", "inverse returns x only",
     [("return x, -self.log_s.sum().expand(len(y))", "return x")],
     r"inverse_with_log_det\(y\) should return \(x, log_det\), got Tensor"),
    ("02", "ex4_actnorm", "test_actnorm", "initialises in eval mode too",
     [("        y = (x + self.b) * torch.exp(self.log_s)\n",
       "        if not self.initialized:\n            self.initialize(x)\n        y = (x + self.b) * torch.exp(self.log_s)\n")],
     r"an ActNorm in eval mode, before any training batch \(it should be the identity\) is not close .*only the first "
     r"batch in TRAINING mode"),
    ("02", "ex4_actnorm", "test_actnorm", "eps compared with the variance",
     [("torch.where(std > self.eps,", "torch.where(std ** 2 > self.eps,")],
     r"with eps=0\.01 a feature of std 0\.05 \(variance 0\.0025\) was only centred: eps is a threshold on the "
     r"standard deviation"),
    ("02", "ex4_actnorm", "test_actnorm", "eps hard-coded",
     [("torch.where(std > self.eps,", "torch.where(std > 1e-6,")],
     r"with eps=0\.01 a feature of std 0\.005 < eps was scaled: compare the std with the block's own threshold"),
    ("02", "ex4_actnorm", "test_actnorm", "b the mean of the whole batch",
     [("mean, std = x.mean(dim=0), x.std(dim=0, correction=0)", "mean, std = x.mean(), x.std(dim=0, correction=0)")],
     r"b is the same number for every feature, minus the mean of the whole batch \(all features together\)"),
    ("02", "ex4_actnorm", "test_actnorm", "log-det the mean of log_s",
     [("return y, self.log_s.sum().expand(len(x))", "return y, self.log_s.mean().expand(len(x))")],
     r"log_det is the MEAN of log_s over the features"),
    ("02", "ex4_actnorm", "test_actnorm", "log-det summed over the batch",
     [("return y, self.log_s.sum().expand(len(x))", "return y, (len(x) * self.log_s.sum()).expand(len(x))")],
     r"log_det is 64× too large \(the batch size\)"),
    ("02", "ex4_actnorm", "test_actnorm", "x centred in place in initialize",
     [("mean, std = x.mean(dim=0), x.std(dim=0, correction=0)",
       "mean = x.mean(dim=0)\n            x -= mean\n            std = x.std(dim=0, correction=0)")],
     r"forward_with_log_det changed its input x in place"),
    ("02", "ex4_actnorm", "test_actnorm", "y scaled in place in the inverse",
     [("x = y * torch.exp(-self.log_s) - self.b", "y *= torch.exp(-self.log_s)\n        x = y - self.b")],
     r"inverse_with_log_det\(y\) changed its input y in place"),
    # ---- in place on the caller's data (X_test, the lab's samples): the visible cell says so
    ("01", "ex4_accuracy", "test_accuracy", "images centred in place",
     [("    net.eval()\n", "    net.eval()\n    X -= X.mean()\n")],
     r"accuracy\(net, X, y\) changed X or y in place .*\(X_test, y_test in this lab\) would be overwritten"),
    ("01", "ex6_interpolate", "test_interpolate", "x0.unsqueeze_ in place",
     [("net.features(x0.unsqueeze(0)), net.features(x1.unsqueeze(0))",
       "net.features(x0.unsqueeze_(0)), net.features(x1.unsqueeze_(0))")],
     r"interpolate\(net, x0, x1, ts\) changed x0 or x1 in place"),
    ("02", "ex1_exact_match", "test_exact_match", "round_ on a view of pred",
     [("p = torch.round(pred[:, :dim].detach().cpu().double())", "p = pred[:, :dim].detach().cpu().round_().double()")],
     r"exact_match\(pred, target, dim\) changed pred or target in place \(\.round_\(\) on pred\[:, :dim\], a view"),
    ("02", "ex6_honest", "test_honest", "X and Y centred in place",
     [("    model.eval()\n", "    model.eval()\n    X -= X.mean(0)\n    Y -= Y.mean(0)\n")],
     r"honest_scores\(model, X, Y, rows, dim\) changed X or Y in place"),
    ("03", "ex2_mmd", "test_mmd", "both samples shifted in place",
     [("    n, m = len(x), len(y)\n", "    shift = x.mean(0)\n    x -= shift\n    y -= shift\n    n, m = len(x), len(y)\n")],
     r"mmd2_unbiased\(x, y\) changed x or y in place"),
    ("03", "ex2_mmd", "test_compare", "both samples shifted in place (the comparison)",
     [("    n, m = len(x), len(y)\n", "    shift = x.mean(0)\n    x -= shift\n    y -= shift\n    n, m = len(x), len(y)\n")],
     r"mmd2_unbiased\(x, y\) changed x or y in place"),
]

# Right answers written another way: each must pass its visible graded cell.
RIGHT = [
    ("01", "ex1_split", "test_split", "chunk and concat",
     [("return x[:, : c // 2], x[:, c // 2 :]", "return tuple(x.chunk(2, dim=1))"),
      ("return torch.cat([x1, x2], dim=1)", "return torch.concat((x1, x2), 1)")]),
    ("01", "ex2_layer", "test_layer", "slices instead of split_channels",
     [("x1, x2 = split_channels(x)\n        return merge_channels(self.F(x1) + x2, x1)",
       "half = x.shape[1] // 2\n        return torch.cat([x[:, half:] + self.F(x[:, :half]), x[:, :half]], 1)")]),
    ("01", "ex3_irevnet", "test_irevnet", "layers[::-1]",
     [("for layer in reversed(self.layers):", "for layer in self.layers[::-1]:")]),
    ("01", "ex4_accuracy", "test_accuracy", "float division by X.shape[0]",
     [("return correct / len(X)", "return float(correct) / X.shape[0]")]),
    ("01", "ex5_error", "test_invertible", "Tensor.norm and float()",
     [("return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()",
       "return float((x - x_rec).norm() / x.norm())")]),
    ("01", "ex6_interpolate", "test_interpolate", "one frame at a time",
     [("return net.inverse((1 - ts) * z0 + ts * z1)", "return torch.cat([net.inverse(z0 + t * (z1 - z0)) for t in ts])")]),
    ("02", "ex1_exact_match", "test_exact_match", "Tensor.round",
     [("p = torch.round(pred[:, :dim].detach().cpu().double())", "p = pred[:, :dim].detach().double().cpu().round()")]),
    ("02", "ex2_coupling", "test_coupling_inverse", "divide by exp(s)",
     [("x2 = (y2 - t1) * torch.exp(-s1)", "x2 = (y2 - t1) / torch.exp(s1)"),
      ("x1 = (y1 - t2) * torch.exp(-s2)", "x1 = (y1 - t2) / torch.exp(s2)")]),
    ("02", "ex3_log_det", "test_log_det", "one sum over both halves",
     [("return s2.sum(dim=1) + s1.sum(dim=1)", "return torch.cat([s2, s1], dim=1).sum(dim=1)")]),
    ("02", "ex4_actnorm", "test_actnorm", ".data and the variance",
     [("mean, std = x.mean(dim=0), x.std(dim=0, correction=0)", "mean, std = x.mean(0), x.var(0, unbiased=False).sqrt()"),
      ("self.b.copy_(-mean)", "self.b.data = -mean")]),
    ("02", "ex4_actnorm", "test_actnorm", "log-det by broadcasting, inverse by division",
     [("return y, self.log_s.sum().expand(len(x))", "return y, self.log_s.sum() * torch.ones(len(x))"),
      ("x = y * torch.exp(-self.log_s) - self.b", "x = y / self.log_s.exp() - self.b")]),
    ("02", "ex5_train_step", "test_train_step", "one backward on the weighted sum",
     [("    loss_fwd.backward()\n", ""),
      ("(inverse_weight * loss_inv).backward()", "(loss_fwd + inverse_weight * loss_inv).backward()")]),
    ("02", "ex6_honest", "test_honest", "inference_mode",
     [("with torch.no_grad():", "with torch.inference_mode():")]),
    ("03", "ex1_mapping_type", "test_mapping_type", "rank from the singular values",
     [("r = int(torch.linalg.matrix_rank(A))", "r = int((torch.linalg.svdvals(A.double()) > 1e-10).sum())")]),
    ("03", "ex2_mmd", "test_mmd", "torch.cdist",
     [("d = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)", "d = torch.cdist(a, b).pow(2)")]),
    ("03", "ex3_adhoc", "test_adhoc", "a new leaf every step",
     [("        with torch.no_grad():\n            x -= lr * grad", "        x = (x - lr * grad).detach().requires_grad_(True)")]),
    ("03", "ex4_sampler", "test_sampler", "y times ones",
     [("y_col = torch.full((n, DIM_Y), float(y), device=dev)", "y_col = y * torch.ones(n, DIM_Y, device=dev)")]),
    ("01", "ex1_split", "test_split", "narrow",
     [("return x[:, : c // 2], x[:, c // 2 :]", "return x.narrow(1, 0, c // 2), x.narrow(1, c // 2, c - c // 2)")]),
    ("01", "ex3_irevnet", "test_irevnet", "nn.Sequential called once",
     [("self.layers = nn.ModuleList([InvertibleLayer(channels, kernel_size) for _ in range(depth)])",
       "self.layers = nn.Sequential(*[InvertibleLayer(channels, kernel_size) for _ in range(depth)])"),
      ("""        z = self.psi(x)
        for layer in self.layers:
            z = layer(z)
        return z""", "        return self.layers(self.psi(x))")]),
    ("01", "ex4_accuracy", "test_accuracy", "X.split and y.split, compared on the CPU",
     [("""        for i in range(0, len(X), batch_size):
            logits = net(X[i:i + batch_size].to(dev))
            correct += (logits.argmax(dim=1) == y[i:i + batch_size].to(dev)).sum().item()""",
       """        for xb, yb in zip(X.split(batch_size), y.split(batch_size)):
            correct += int((net(xb.to(dev)).argmax(1).cpu() == yb).sum())""")]),
    ("01", "ex5_error", "test_invertible", "torch.dist",
     [("return (torch.linalg.vector_norm(x - x_rec) / torch.linalg.vector_norm(x)).item()",
       "return (torch.dist(x, x_rec) / x.norm()).item()")]),
    ("01", "ex6_interpolate", "test_interpolate", "x0[None]",
     [("net.features(x0.unsqueeze(0)), net.features(x1.unsqueeze(0))", "net.features(x0[None]), net.features(x1[None])")]),
    ("02", "ex1_exact_match", "test_exact_match", "eq, all and a float mean",
     [("return (p == t).all(dim=1).double().mean().item()", "return p.eq(t).all(1).float().mean().item()")]),
    ("02", "ex2_coupling", "test_coupling_inverse", "y.split([d1, d2])",
     [("y1, y2 = y[:, :self.d1], y[:, self.d1:]", "y1, y2 = y.split([self.d1, self.d2], dim=1)")]),
    ("02", "ex3_log_det", "test_log_det", "s from the raw net output and an explicit tanh",
     [("s2, t2 = block.s_t(block.net2, x2)", "s2 = torch.tanh(block.net2(x2).chunk(2, dim=1)[0])\n    t2 = block.net2(x2).chunk(2, dim=1)[1]"),
      ("s1, _ = block.s_t(block.net1, y1)", "s1 = torch.tanh(block.net1(y1)[:, :block.d2])")]),
    ("02", "ex4_actnorm", "test_actnorm", "writes through .data, no torch.no_grad",
     [("""        with torch.no_grad():
            mean, std = x.mean(dim=0), x.std(dim=0, correction=0)
            self.b.copy_(-mean)
            self.log_s.copy_(""", """        mean, std = x.mean(dim=0), x.std(dim=0, correction=0)
        self.b.data.copy_(-mean)
        self.log_s.data.copy_(""")]),
    ("02", "ex4_actnorm", "test_actnorm", "the variance against eps²",
     [("torch.where(std > self.eps,", "torch.where(x.var(dim=0, correction=0) > self.eps ** 2,")]),
    ("02", "ex6_honest", "test_honest", "rows picked once, on the CPU",
     [("""        y_hat = model(X[rows].to(dev))
        x_hat = model.inverse(Y[rows].to(dev))""", """        xs, ys = X[rows], Y[rows]
        y_hat, x_hat = model(xs.to(dev)).cpu(), model.inverse(ys.to(dev)).cpu()""")]),
    ("03", "ex2_mmd", "test_compare", "torch.cdist (the comparison)",
     [("d = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)", "d = torch.cdist(a, b).pow(2)")]),
    ("03", "ex3_adhoc", "test_adhoc", "torch.optim.SGD",
     [("""    for _ in range(steps):
        loss = ((f(x) - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x -= lr * grad""", """    opt = torch.optim.SGD([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        ((f(x) - y) ** 2).sum().backward()
        opt.step()""")]),
    ("03", "ex4_sampler", "test_sampler", "one y row expanded to n",
     [("y_col = torch.full((n, DIM_Y), float(y), device=dev)", "y_col = torch.tensor([[float(y)]], device=dev).expand(n, DIM_Y)")]),
    ("02", "ex4_actnorm", "test_actnorm", "add/mul, log-det by repeat, masked_fill",
     [("y = (x + self.b) * torch.exp(self.log_s)", "y = x.add(self.b).mul(self.log_s.exp())"),
      ("return y, self.log_s.sum().expand(len(x))", "return y, self.log_s.sum().repeat(x.shape[0])"),
      ("self.log_s.copy_(torch.where(std > self.eps, -torch.log(std.clamp_min(self.eps)), torch.zeros_like(std)))",
       "self.log_s.copy_((-std.clamp_min(self.eps).log()).masked_fill(std <= self.eps, 0.0))")]),
    ("02", "ex4_actnorm", "test_actnorm", "inverse by division, log-det times ones",
     [("x = y * torch.exp(-self.log_s) - self.b", "x = y.div(self.log_s.exp()).sub(self.b)"),
      ("return x, -self.log_s.sum().expand(len(y))", "return x, -self.log_s.sum() * torch.ones(y.shape[0])")]),
    ("02", "ex4_actnorm", "test_actnorm", "statistics by hand, per feature",
     [("mean, std = x.mean(dim=0), x.std(dim=0, correction=0)",
       "mean = x.sum(0) / len(x)\n            std = ((x - mean) ** 2).mean(0).sqrt()")]),
    ("01", "ex4_accuracy", "test_accuracy", "each batch cloned",
     [("logits = net(X[i:i + batch_size].to(dev))", "logits = net(X[i:i + batch_size].clone().to(dev))")]),
    ("03", "ex2_mmd", "test_compare", "samples shifted into new tensors (the comparison)",
     [("    n, m = len(x), len(y)\n", "    shift = x.mean(0)\n    x = x - shift\n    y = y - shift\n    n, m = len(x), len(y)\n")]),
]


def _cells(nb) -> dict:
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def _mutate(source: str, subs) -> str:
    for old, new in subs:
        assert old in source, f"mistake does not apply: {old!r} not in the solution cell"
        source = source.replace(old, new)
    return source


def _error(cell) -> str:
    return error_line(cell) or ""


@functools.lru_cache(maxsize=None)
def lab_results(lab: str) -> dict:
    """Run the lab once with the correct solutions, then every mistake; returns the outcomes."""
    name = LABS[lab]
    student = nbformat.read(ROOT / "labs" / f"{name}.ipynb", as_version=4)
    solution = _cells(nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4))
    graded = [i for i, c in enumerate(student.cells) if meta(c).get("grade")]
    out = {"correct": {}, "mistakes": {}, "right": {}}
    with KernelSession() as k:
        for cell in student.cells[: graded[-1] + 1]:
            gid = grade_id(cell)
            if cell.cell_type != "code" or gid in SKIP[lab]:
                continue
            src = paste_solution(cell.source, solution[gid].source) if meta(cell).get("solution") \
                else cell.source
            ran = k.run(src)
            out["correct"][gid] = (_error(ran), stderr(ran) if meta(cell).get("grade") else "")
        lab_cells = _cells(student)
        for m_lab, ex, test, mistake, subs, _ in MISTAKES:
            if m_lab != lab:
                continue
            wrong = paste_solution(lab_cells[ex].source, _mutate(solution[ex].source, subs))
            ex_err = _error(k.run(wrong))
            test_err = _error(k.run(lab_cells[test].source))
            out["mistakes"][(ex, mistake)] = (ex_err, test_err)
            k.run(paste_solution(lab_cells[ex].source, solution[ex].source))   # restore
        for r_lab, ex, test, variant, subs in RIGHT:
            if r_lab != lab:
                continue
            ex_err = _error(k.run(paste_solution(lab_cells[ex].source, _mutate(solution[ex].source, subs))))
            ran = k.run(lab_cells[test].source)
            out["right"][(ex, variant)] = (ex_err, _error(ran), stderr(ran))
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
        exercises = [grade_id(c) for c in nb.cells if meta(c).get("solution")]
        for ex in exercises:
            n = sum(1 for m in MISTAKES if m[0] == lab and m[1] == ex)
            assert n >= 3, f"lab {lab} exercise {ex} has {n} mistakes in the bank; expected ≥ 3"


@pytest.mark.parametrize("lab, exercise, graded, variant, subs", RIGHT,
                         ids=[f"{r[0]}-{r[1]}-{r[3]}" for r in RIGHT])
def test_visible_graded_cell_passes_a_right_answer_written_another_way(lab, exercise, graded, variant, subs):
    ex_err, test_err, err_stream = lab_results(lab)["right"][(exercise, variant)]
    assert not ex_err, f"the variant broke the exercise cell itself: {ex_err}"
    assert not test_err, f"{graded} REFUSES the right answer '{variant}': {test_err}"
    assert not err_stream, f"{graded} writes to stderr for '{variant}' (nbgrader scores it 0): {err_stream}"


def test_every_exercise_of_the_table_has_a_reference_call_in_the_bank():
    """Each exercise of invlab.answers.REFERENCES (labs 1–3) has a mistake that calls the course's own
    answer, and its visible cell must refuse it with the grader's words (see the mistakes above)."""
    from invlab.answers import REFERENCES
    for lab in LABS:
        for ex in REFERENCES[lab]:
            assert any(m[0] == lab and m[1] == ex and "calls the course's own implementation" in m[5]
                       for m in MISTAKES), f"lab {lab} {ex}: no reference call in the bank"
