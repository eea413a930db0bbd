"""Lab 1 (i-RevNet): its wrong-answer bank (format: tests/banks/__init__.py).

Each mistake is a substitution ``(old, new)`` on the solution's cell of an exercise, so it
reads as the slip a student makes; the message is a regex the graded cell's error matches.
"""
from . import Case, edit, rx

LAB = "01"
# Cells the graded cells do not need (figures, side studies): left out to keep the run short.
SKIP = set()
# Every code cell up to the last graded one runs first, with the solutions pasted.
PREFIX = None

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
    ("01", "ex4_accuracy", "test_accuracy", "calls the course's accuracy",
     [("    net.eval()\n    correct = 0\n", "    return invlab.train.accuracy(net, X, y, batch_size)\n    correct = 0\n")],
     r"accuracy calls the course's own implementation \(invlab\.train\.accuracy\)"),
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
    # ---- in place on the caller's data (X_test, the lab's samples): the visible cell says so
    ("01", "ex4_accuracy", "test_accuracy", "images centred in place",
     [("    net.eval()\n", "    net.eval()\n    X -= X.mean()\n")],
     r"accuracy\(net, X, y\) changed X or y in place .*\(X_test, y_test in this lab\) would be overwritten"),
    ("01", "ex6_interpolate", "test_interpolate", "x0.unsqueeze_ in place",
     [("net.features(x0.unsqueeze(0)), net.features(x1.unsqueeze(0))",
       "net.features(x0.unsqueeze_(0)), net.features(x1.unsqueeze_(0))")],
     r"interpolate\(net, x0, x1, ts\) changed x0 or x1 in place"),
]

# Right answers written another way: each must pass its visible graded cell and the hidden tests.
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
    ("01", "ex4_accuracy", "test_accuracy", "each batch cloned",
     [("logits = net(X[i:i + batch_size].to(dev))", "logits = net(X[i:i + batch_size].clone().to(dev))")]),
]

CASES = ([Case(lab, ex, test, name, edit(lab, ex, subs), rx(msg)) for lab, ex, test, name, subs, msg in MISTAKES]
         + [Case(lab, ex, test, name, edit(lab, ex, subs), None) for lab, ex, test, name, subs in RIGHT])
