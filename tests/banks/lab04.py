"""Lab 4 (normalising flows): its wrong-answer bank (format: tests/banks/__init__.py).

Each entry is a body a student writes in place of ``raise NotImplementedError()``; the
message is a fragment of the graded cell's CheckFailed.
"""
from . import Case, fill

LAB = "04"
PREFIX = ["setup"]   # the graded cells need only the setup cell (and the exercises' answers)

# exercise grade_id -> (graded grade_id, [(wrong body, expected message fragment), ...])
BANK = {
    "ex1_log_prob": ("test_log_prob", [
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (z ** 2).sum() - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det.sum()",
         "it should return one log-density per sample"),
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (z ** 2).sum(1) + log_det",
         "check its normalising constant"),
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (z ** 2).sum(1) - 0.5 * math.log(2 * math.pi) + log_det",
         "check its normalising constant"),
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)",
         "log_prob ignores the log-determinant"),
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) - log_det",
         "the log-determinant enters log_prob with the wrong sign"),
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (x ** 2).sum(1) - 0.5 * x.shape[1] * math.log(2 * math.pi) + log_det",
         "evaluate it at the latent point z = f(x)"),
        ("z, log_det = transform.inverse_with_log_det(x)\n"
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det",
         "the data → latent direction"),
        ("z, log_det = transform.forward_with_log_det(x)\n"     # images: z never flattened
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det",
         "on images x of shape (5, 1, 4, 4) fails ("),
        ("z, log_det = transform.forward_with_log_det(x)\n"     # images: D = x.shape[1] = C
         "return -0.5 * (z.flatten(1) ** 2).sum(1) - 0.5 * x.shape[1] * math.log(2 * math.pi) + log_det",
         "D counts every entry of one sample"),
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (z ** 2).mean(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det",
         "the log-density of N(0, I) sums over the D features"),
        ("z, log_det = transform.forward_with_log_det(x)\n"     # log-det summed over the batch, broadcast
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det.sum()",
         "the log-det is per sample, shape (B,)"),
        # the course's own answer, however it is reached: the grader's words
        ("return flows.Flow(transform).log_prob(x)",
         "log_prob calls the course's own implementation (invlab.flows.Flow); this exercise asks you to write it "
         "yourself, so it scores 0"),
        ("MyFlow = invlab.flows.Flow\nreturn MyFlow(transform)(x)", "log_prob calls the course's own implementation"),
        ("import invlab.flows as fl\nreturn fl.Flow(transform, shape=tuple(x.shape[1:])).log_prob(x)",
         "log_prob calls the course's own implementation"),
        ("return getattr(flows, 'Fl' + 'ow')(transform).log_prob(x)", "log_prob calls the course's own implementation"),
        # torch errors, explained in the lab's terms
        ("z, log_det = transform.forward_with_log_det(x)\n"     # in place on a broadcast log-det (ActNorm)
         "log_det += -0.5 * (z.flatten(1) ** 2).sum(1) - 0.5 * z[0].numel() * math.log(2 * math.pi)\n"
         "return log_det",
         "add to it out of place, not with += or add_"),
        ("z, log_det = transform.forward_with_log_det(x)\n"     # Normal summed over dim 1 only: images (B, 4, 4)
         "return torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1) + log_det",
         "z = f(x) has the shape of x; flatten it to (B, D) before summing over the features"),
        ("z, log_det = transform.forward_with_log_det(x)\n"     # cut off from the parameters: training cannot use it
         "z = z.flatten(1).detach()\n"
         "return (-0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det).detach()",
         "is cut off from the transform's parameters"),
        ("import numpy as np\nz, log_det = transform.forward_with_log_det(x)\n"
         "zn = z.detach().flatten(1).numpy()\n"
         "return torch.as_tensor(-0.5 * (zn ** 2).sum(1) - 0.5 * zn.shape[1] * np.log(2 * np.pi)) + log_det.detach()",
         "is cut off from the transform's parameters"),
        ("with torch.no_grad():\n    z, log_det = transform.forward_with_log_det(x)\n"
         "return -0.5 * (z.flatten(1) ** 2).sum(1) - 0.5 * z[0].numel() * math.log(2 * math.pi) + log_det",
         "is cut off from the transform's parameters (no grad_fn)"),
        # part of the graph cut off: the value is right and a grad_fn is there, the gradients are not
        ("z, log_det = transform.forward_with_log_det(x)\nz = z.flatten(1)\n"
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det.detach()",
         "the log-determinant term is cut off from the transform's parameters"),
        ("z, log_det = transform.forward_with_log_det(x)\nz = z.detach().flatten(1)\n"
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det",
         "its log N(z; 0, I) part is cut off from the transform's parameters"),
        ("z, log_det = transform.forward_with_log_det(x)\nz = z.data.flatten(1)\n"
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det",
         "its log N(z; 0, I) part is cut off from the transform's parameters"),
        ("import numpy as np\nz, log_det = transform.forward_with_log_det(x)\n"     # the z part in NumPy
         "zn = z.detach().cpu().flatten(1).numpy()\n"
         "log_pz = -0.5 * (zn ** 2).sum(1) - 0.5 * zn.shape[1] * np.log(2 * np.pi)\n"
         "return torch.as_tensor(log_pz, device=x.device) + log_det",
         "its log N(z; 0, I) part is cut off from the transform's parameters"),
        ("z, log_det = transform.forward_with_log_det(x)\n"
         "zt = torch.tensor(z.flatten(1).tolist(), dtype=z.dtype, device=z.device)\n"
         "return -0.5 * (zt ** 2).sum(1) - 0.5 * zt.shape[1] * math.log(2 * math.pi) + log_det",
         "its log N(z; 0, I) part is cut off from the transform's parameters"),
        ("z, log_det = transform.forward_with_log_det(x)\nz = z.flatten(1)\n"     # log-det averaged over the batch
         "return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det.mean()",
         "log_prob adds the log-determinant averaged over the batch (log_det.mean())"),
    ]),
    "ex2_sample": ("test_sample", [
        ("z = torch.randn(n, dim)\nreturn transform.forward(z)",
         "the samples come from the data → latent map (forward)"),
        ("z = torch.randn(n, dim)\nreturn z",
         "you return the latent draws z"),
        ("z = torch.rand(n, dim)\nreturn transform.inverse(z)",
         "the latent draws look uniform"),
        ("z = torch.randn(n, dim)\nreturn transform.inverse_with_log_det(z)",
         "use transform.inverse(z)"),
        ("g = torch.Generator().manual_seed(0)\nreturn transform.inverse(torch.randn(n, dim, generator=g))",
         "sample returns the same points on every call"),
        ("z = torch.randn(dim, n)\nreturn transform.inverse(z.T).T",
         "has shape (2, 20000); expected (20000, 2)"),
        ("z = torch.randn(n, 1).expand(n, dim)\nreturn transform.inverse(z)",     # one draw shared by the D features
         "the D coordinates of z must be independent draws"),
        ("z = torch.randn(1, dim).expand(n, dim)\nreturn transform.inverse(z)",   # one draw shared by the batch
         "all 20000 samples are the same point"),
        ("z = 0.7 * torch.randn(n, dim)\nreturn transform.inverse(z)",
         "z ~ N(0, I) has mean 0 and variance 1 in every coordinate"),
        ("z = torch.randn(n, dim)\nx, log_det = transform.inverse_with_log_det(z)\nreturn x + log_det[:, None]",
         "shifted by the log-determinant"),
        ("return transform.inverse(torch.randn(n, dim, dtype=torch.float64))",   # a RealNVP would refuse it
         "sample returns torch.float64 samples from a float32 flow"),
        ("return flows.Flow(transform, shape=(dim,)).sample(n)",
         "sample calls the course's own implementation (invlab.flows.Flow)"),
        # invlab's own message (naming the student's z, not the y of ActNorm's signature), with the course's hint
        ("z = torch.randn(dim, n)\nreturn transform.inverse(z)",
         "sample(transform, 20000, 2) fails (ActNorm: z must be a tensor of shape (B, 2) or (B, 2, H, W), dim=2 "
         "features, got a tensor of shape (2, 20000) (float32)): draw z of shape (n, dim), one row of dim coordinates "
         "per sample"),
        ("z = torch.randn(n)\nreturn transform.inverse(z)",
         "ActNorm: z must be a tensor of shape (B, 2) or (B, 2, H, W), got a tensor of shape (20000,) (float32)): "
         "draw z of shape (n, dim)"),
        ("import numpy as np\nreturn transform.inverse(np.random.randn(n, dim))",
         "must be a torch.Tensor, got array(["),   # (ActNorm names y: NumPy's array has no name in the code)
        ("import numpy as np\nreturn transform.inverse(np.random.randn(n, dim))",
         "the transform takes torch tensors: draw z with torch, not NumPy"),
    ]),
    "ex3_dequantize": ("test_dequantize", [
        ("return x / levels", "add random noise"),
        ("return (x + torch.rand_like(x)) / (levels - 1)", "the top level 16 must stay below 1"),
        ("return x + torch.rand_like(x)", "must lie in [0, 1)"),
        ("return (x + torch.rand(x.shape[0], 1)) / levels", "draw an independent u for every entry"),
        ("return (x + 0.5 + 0.1 * torch.randn_like(x)).clamp(x, x + 0.999) / levels",
         "uniform noise on [0, 1) has mean 0.5 and variance 1/12"),
        ("return (x + torch.rand_like(x) - 0.5) / levels",     # centred noise: named as such, nothing about level 16
         "dequantize's noise is centred on 0"),
        ("return (x + 2 * torch.rand_like(x) - 1) / levels", "the noise u must lie in [0, 1), never below 0"),
        ("return (x + torch.randn_like(x)) / levels", "must lie in [0, 1)"),
        ("x += torch.rand_like(x)\nreturn x / levels", "dequantize changed its input x in place"),
        ("return x.add_(torch.rand_like(x)).div_(levels)", "dequantize changed its input x in place"),
        ("return (x + torch.rand(x.shape[1:])) / levels", "every sample must get its own noise"),
        ("return (x + torch.rand(1)) / levels", "every entry gets the same noise value"),
        ("return (x + torch.rand(x.shape[0])) / levels",        # a broadcast error, explained
         "the noise u must have the shape of x: one draw per entry"),
        ("return (x + torch.rand(x.shape, dtype=torch.float64)) / levels", "keep the dtype of x"),
        ("return flows.dequantize(x, levels)",
         "dequantize calls the course's own implementation (invlab.flows.dequantize)"),
        ("from invlab.flows import dequantize as dq\nreturn dq(x, levels)",
         "dequantize calls the course's own implementation (invlab.flows.dequantize)"),
    ]),
    "ex4_bits_per_dim": ("test_bits_per_dim", [
        ("return float(-log_p_y.mean() / (dim * math.log(2)))", "the dequantisation offset (the bin width) is missing"),
        ("return float((-log_p_y.mean() + dim * math.log(levels)) / dim)", "that is in nats"),
        ("return float((-log_p_y.mean() + dim * math.log(levels)) / math.log(2))", "report it per dimension"),
        ("return float((-log_p_y.mean() - dim * math.log(levels)) / (dim * math.log(2)))", "the sign of the dequantisation offset"),
        ("return float((-log_p_y.sum() + dim * math.log(levels)) / (dim * math.log(2)))", "it should average them"),
        ("return (-log_p_y + dim * math.log(levels)) / (dim * math.log(2))", "average over the batch"),
        ("return (-log_p_y.mean() + dim * math.log(levels)) / (dim * math.log(2))",   # a 0-d tensor
         "got Tensor of shape (): convert it with float(...)"),
        ("return float((-log_p_y.mean() + dim * math.log(levels - 1)) / (dim * math.log(2)))",
         "bits_per_dim of a uniform model on 17 levels (log2 17)"),
        ("return float((-log_p_y.mean() + math.log(levels)) / (dim * math.log(2)))",
         "the dequantisation offset is log L for each of the D dimensions"),
        ("return float((log_p_y.mean() + dim * math.log(levels)) / (dim * math.log(2)))",
         "the NLL is −log p(y)"),
        ("return float((-log_p_y.mean() + dim * math.log(levels)) / (dim * math.log(10)))",   # decimal digits
         "bits_per_dim of a uniform model on 17 levels (log2 17) is 1.23045; expected 4.08746"),
        ("return float((-log_p_y + dim * math.log(levels)) / (dim * math.log(2)))",   # float of a (B,) tensor
         "average the batch to one number first"),
        ("return float(flows.bits_per_dim(-log_p_y.mean(), dim, 1 / levels))",
         "bits_per_dim calls the course's own implementation (invlab.flows.bits_per_dim)"),
        ("return float(flows.bits_per_dim(-log_p_y, dim, 1 / levels))",
         "bits_per_dim calls the course's own implementation (invlab.flows.bits_per_dim)"),
    ]),
}

# right answers in another form: each must pass its graded cell
RIGHT = [
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"
     "return torch.distributions.Normal(0.0, 1.0).log_prob(z).flatten(1).sum(1) + log_det"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"
     "return torch.distributions.Normal(0, 1).log_prob(z.flatten(1)).sum(1) + log_det"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\nz = z.reshape(len(z), -1)\n"
     "mvn = torch.distributions.MultivariateNormal(torch.zeros(z.shape[1], dtype=z.dtype), "
     "torch.eye(z.shape[1], dtype=z.dtype))\nreturn mvn.log_prob(z) + log_det"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"     # in place, on a tensor of its own
     "lp = log_det.clone()\nlp -= 0.5 * (z.flatten(1) ** 2).sum(1)\nlp -= 0.5 * z[0].numel() * math.log(2 * math.pi)\n"
     "return lp"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"
     "dims = tuple(range(1, z.dim()))\n"
     "return -0.5 * z.pow(2).sum(dim=dims) - 0.5 * z[0].numel() * torch.log(torch.tensor(2 * torch.pi)) + log_det"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\nzz = z.flatten(1)\n"
     "return -0.5 * torch.einsum('bi,bi->b', zz, zz) - zz.shape[1] / 2 * math.log(2 * math.pi) + log_det"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"     # the base density of invlab: allowed
     "return flows.StandardNormal(tuple(z.shape[1:])).log_prob(z) + log_det"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"     # in float64 all the way: gradients too
     "zz = z.flatten(1).double()\n"
     "return -(zz.square().sum(1) + zz.shape[1] * math.log(2 * math.pi)) / 2 + log_det.double()"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"     # torch.add, keyword alpha
     "sq = torch.sum(z.reshape(z.shape[0], -1) ** 2, dim=1)\n"
     "return torch.add(log_det, sq + z[0].numel() * math.log(2 * math.pi), alpha=-0.5)"),
    ("ex1_log_prob", "z, log_det = transform.forward_with_log_det(x)\n"     # a float64 result is fine too
     "base = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0)\n"
     "return base.log_prob(z.flatten(1)).sum(1) + log_det"),
    ("ex2_sample", "return transform.inverse(torch.randn(dim, n).T)"),   # a transposed view: still N(0, I)
    ("ex2_sample", "z = torch.randn(n, dim).to(dev)\nreturn transform.inverse(z)"),   # drawn on the CPU, moved to dev
    ("ex2_sample", "p = next(iter(transform.parameters()))\n"           # the device of the transform's parameters
     "return transform.inverse(torch.randn(n, dim, device=p.device, dtype=p.dtype))"),
    ("ex2_sample", "return transform.inverse(torch.distributions.Normal(0.0, 1.0).sample((n, dim)))"),
    ("ex2_sample", "x, _ = transform.inverse_with_log_det(torch.randn(n, dim))\nreturn x"),
    ("ex2_sample", "import numpy as np\nreturn transform.inverse(torch.from_numpy(np.random.randn(n, dim)).float())"),
    ("ex3_dequantize", "y = x.clone()\ny += torch.rand_like(y)\nreturn y / levels"),   # in place on a copy
    ("ex3_dequantize", "return (x + torch.rand(x.shape, dtype=x.dtype)) / levels"),
    ("ex3_dequantize", "return (x + torch.empty_like(x).uniform_(0, 1)) / levels"),
    ("ex3_dequantize", "return x / levels + torch.rand_like(x) / levels"),
    ("ex3_dequantize", "u = torch.distributions.Uniform(0.0, 1.0).sample(x.shape).to(x.dtype)\nreturn (x + u) / levels"),
    ("ex3_dequantize", "import numpy as np\n"                  # NumPy noise, back in x's dtype
     "return (x + torch.from_numpy(np.random.rand(*x.shape)).to(x.dtype)) / levels"),
    ("ex4_bits_per_dim", "import numpy as np\n"      # a NumPy float64 is a float
     "return (-log_p_y.mean().item() + dim * np.log(levels)) / (dim * np.log(2))"),
    ("ex4_bits_per_dim", "return math.log2(levels) - log_p_y.mean().item() / (dim * math.log(2))"),
    ("ex4_bits_per_dim", "return float((-log_p_y / (dim * math.log(2))).mean() + math.log2(levels))"),
    ("ex4_bits_per_dim", "import statistics\n"
     "return (dim * math.log(levels) - statistics.mean(log_p_y.tolist())) / (dim * math.log(2))"),
    ("ex4_bits_per_dim", "nll = -log_p_y.double().mean() + dim * torch.log(torch.tensor(float(levels)))\n"
     "return (nll / (dim * math.log(2))).item()"),
]

CASES = ([Case(LAB, ex, test, str(i), fill(LAB, ex, body), msg)
          for ex, (test, mistakes) in BANK.items() for i, (body, msg) in enumerate(mistakes)]
         + [Case(LAB, ex, BANK[ex][0], f"ok{i}", fill(LAB, ex, body), None) for i, (ex, body) in enumerate(RIGHT)])
