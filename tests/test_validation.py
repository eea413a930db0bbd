"""Bad input across invlab: one table, each row a call, the exception type and the exact message.

Rule of the house: a wrong *type* raises ``TypeError``, a wrong *value* ``ValueError``, and
the message names the function, the argument, what was given and what was expected
(``invlab.validate``). ``python benchmarks/bad_inputs.py`` prints this table as markdown.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import invlab  # noqa: E402
from invlab import bijections as B  # noqa: E402,F401
from invlab import checks, data, plots, widgets  # noqa: E402,F401

#: (call, exception type, exact message); the call is Python evaluated in this module.
BAD_INPUTS = [
    ('invlab.psi(torch.zeros(1, 1, 4, 4), 2.0)',
     TypeError, 'psi: block_size must be an int ≥ 1, got 2.0 (float)'),
    ('invlab.psi(torch.zeros(1, 1, 4, 4), 0)',
     ValueError, 'psi: block_size must be an int ≥ 1, got 0'),
    ('invlab.psi(torch.zeros(1, 1, 28, 30), 4)',
     ValueError, 'psi: x must be a tensor (B, C, H, W) with height and width divisible by block_size = 4, got a tensor of shape (1, 1, 28, 30) (float32)'),
    ('invlab.psi([[1.0]], 1)',
     TypeError, 'psi: x must be a torch.Tensor, got [[1.0]] (list)'),
    ('invlab.psi_inverse(torch.zeros(1, 8, 7, 7), 4)',
     ValueError, 'psi_inverse: y must be a tensor (B, C, H, W) with C divisible by block_size² = 16, got a tensor of shape (1, 8, 7, 7) (float32)'),
    ('invlab.Psi("4")',
     TypeError, "Psi: block_size must be an int ≥ 1, got '4'"),
    ('invlab.IRevNet(block_size=0)',
     ValueError, 'IRevNet: block_size must be an int ≥ 1, got 0'),
    ('invlab.AffineCoupling(4.0, invlab.mlp)',
     TypeError, 'AffineCoupling: dim must be an int ≥ 2, got 4.0 (float)'),
    ('invlab.AffineCoupling(4, "mlp")',
     TypeError, "AffineCoupling: subnet must be a factory subnet(c_in, c_out) -> nn.Module, got 'mlp'"),
    ('invlab.AffineCoupling(4, invlab.mlp, clamp=-1.0)',
     ValueError, 'AffineCoupling: clamp must be a finite number > 0, got -1.0 (float)'),
    ('invlab.AdditiveCoupling(4, invlab.mlp, split=4)',
     ValueError, 'AdditiveCoupling: split must be an int ≥ 1 and ≤ 3, got 4'),
    ('invlab.Permutation(0)',
     ValueError, 'Permutation: dim must be an int ≥ 1, got 0'),
    ('invlab.ActNorm(3, eps=0)',
     ValueError, 'ActNorm: eps must be a finite number > 0, got 0'),
    ('invlab.InvertibleConv1x1(3)(torch.randn(2, 3))',
     ValueError, 'InvertibleConv1x1: x must be a tensor of shape (B, 3, H, W), got a tensor of shape (2, 3) (float32)'),
    ('invlab.mlp(3, 4, depth=0)',
     ValueError, 'mlp: depth must be an int ≥ 1, got 0'),
    ('invlab.AffineCoupling(6, invlab.mlp)(torch.randn(3, 5))',
     ValueError, 'AffineCoupling: x must be a tensor of shape (B, 6) or (B, 6, H, W), dim=6 features, got a tensor of shape (3, 5) (float32)'),
    ('invlab.AffineCoupling(4, invlab.mlp)(torch.zeros(2, 4, dtype=torch.long))',
     TypeError, 'AffineCoupling: x must be a floating-point tensor (use .float()), got a tensor of shape (2, 4) (int64)'),
    ('invlab.mmd2(torch.randn(4, 3), torch.randn(4, 2))',
     ValueError, 'mmd2: y must be a tensor with the 3 features of x, got a tensor of shape (4, 2) (float32)'),
    ('invlab.mmd2(torch.randn(1, 2), torch.randn(5, 2))',
     ValueError, 'mmd2: x must be a tensor with at least 2 samples (rows) for the unbiased estimator (pass more samples or unbiased=False), got a tensor of shape (1, 2) (float32)'),
    ('invlab.mmd2(torch.randn(4, 2), torch.randn(4, 2), kernel="rbf")',
     ValueError, "mmd2: kernel must be one of 'gaussian', 'imq', got 'rbf'"),
    ('invlab.mmd2(torch.randn(4, 2), torch.randn(4, 2), bandwidths=())',
     ValueError, 'mmd2: bandwidths must be a positive number or a non-empty sequence of them, e.g. (0.05, 0.2, 0.9), got () (tuple)'),
    ('invlab.mmd2(torch.randn(4, 2), torch.randn(4, 2, dtype=torch.float64))',
     TypeError, 'mmd2: y must be a tensor of the dtype of x, float32 (e.g. y.to(x.dtype)), got a tensor of shape (4, 2) (float64)'),
    ('invlab.gaussian_kernel(torch.randn(4, 2), torch.randn(4, 2), bandwidth=0.0)',
     ValueError, 'gaussian_kernel: bandwidth must be a finite number > 0, got 0.0 (float)'),
    ('data.load_mnist("validation")',
     ValueError, "load_mnist: split must be one of 'train', 'test', got 'validation'"),
    ('data.load_mnist("train", n=2.5)',
     TypeError, 'load_mnist: n must be an int ≥ 1, got 2.5 (float)'),
    ('data.two_moons(1)',
     ValueError, 'two_moons: n must be an int ≥ 2, got 1'),
    ('data.gaussian_ring(10, std=-1)',
     ValueError, 'gaussian_ring: std must be a finite number ≥ 0, got -1'),
    ('data.pad(torch.ones(2, 3), 2)',
     ValueError, 'pad: width must be an int ≥ D = 3 (the columns of t), got 2'),
    ('invlab.seed_everything(-1)',
     ValueError, 'seed_everything: seed must be an int ≥ 0, got -1'),
    ('invlab.setup(1.5)',
     TypeError, 'setup: seed must be an int ≥ 0, got 1.5 (float)'),
    ('invlab.one_cpu_thread("gpu").__enter__()',
     ValueError, "one_cpu_thread: dev must be one of 'cpu', 'cuda', 'mps', got 'gpu'"),
    ('plots.show_images(torch.rand(2, 4))',
     ValueError, 'show_images: images must be a tensor with 3 or 4 axes, got a tensor of shape (2, 4) (float32)'),
    ('plots.show_images(torch.rand(2, 4, 4), ncols=0)',
     ValueError, 'show_images: ncols must be an int ≥ 1, got 0'),
    ('widgets.image_slider(torch.rand(2, 1, 4, 4), [0, 0.5, 1])',
     ValueError, 'image_slider: ts must be a sequence of 2 labels, one per image (it has 3), got [0, 0.5, 1] (list)'),
    ('checks.check_close("y", 1.0, 1.0, rtol=-1)',
     ValueError, 'check_close: rtol must be a finite number ≥ 0, got -1'),
    ('checks.check_between("y", 1.0, 2, 0)',
     ValueError, 'check_between: high must be a number ≥ low = 2, got 0'),
    ('checks.check_shape("y", torch.zeros(1), 1)',
     TypeError, 'check_shape: expected must be a shape: a sequence of ints, got 1'),
    ('checks.passed(None)',
     TypeError, 'passed: what must be a str, got None'),
    ('B.get_bijection("permutations")',
     ValueError, "get_bijection: name must be one of 'subsets', 'lehmer', 'conjugation', 'pruefer', 'gray', got 'permutations'"),
    ('B.get_bijection(3)',
     TypeError, 'get_bijection: name must be a Bijection or a registry name (str), got 3'),
    ('B.lehmer_bijection(0)',
     ValueError, 'lehmer_bijection: n must be an int ≥ 1, got 0'),
    ('B.lehmer_decode((0, 0, 0, 7, 0))',
     ValueError, 'lehmer_decode: code[3]=7 out of range; expected 0 ≤ code[3] ≤ 1 (got code=(0, 0, 0, 7, 0))'),
    ('B.lehmer_code((0, 0, 2))',
     ValueError, 'lehmer_code: perm repeats the value 0; expected a permutation of 0..2 (got perm=(0, 0, 2))'),
    ('B.lehmer_code("abc")',
     TypeError, "lehmer_code: perm must be a sequence of integers, got 'abc'"),
    ('B.subset_to_partition((2, 5), n=-1)',
     ValueError, 'subset_to_partition: n must be an int ≥ 0, got -1'),
    ('B.conjugate((1, 3))',
     ValueError, 'conjugate: partition[1]=3 > partition[0]=1; expected weakly decreasing parts (got partition=(1, 3))'),
    ('B.pruefer_code([(1, 2), (2, 3), (1, 3)])',
     ValueError, 'pruefer_code: edges=((1, 2), (2, 3), (1, 3)) is not a tree on [4]: edge 2 = (1, 3) closes a cycle (or is a loop / repeated edge)'),
    ('B.gray_encode(-1)',
     ValueError, 'gray_encode: i must be an int ≥ 0, got -1'),
    ('B.gray_encode(2.5)',
     TypeError, 'gray_encode: i must be an int ≥ 0, got 2.5 (float)'),
    ('B.get_bijection("subsets").forward((1, 2, 3))',
     ValueError, 'subsets.forward: (1, 2, 3) (tuple) is not a member of 8-subsets of [16]: encodes to length 3; expected D = 8'),
    ('B.get_bijection("pruefer").decode_y((1, 2, 3, 4, 5, 6))',
     ValueError, 'pruefer.decode_y: vec=(1, 2, 3, 4, 5, 6) (tuple) does not encode a member of Prüfer sequences in [7]^5: vec[5]=6; the extended Prüfer code always ends with n = 7'),
    ('B.make_dataset("lehmer", pad_to=7)',
     ValueError, 'make_dataset: pad_to must be an int ≥ 8, got 7'),
    ('B.make_dataset(8)',
     TypeError, "make_dataset: bij must be a Bijection or one of 'subsets', 'lehmer', 'conjugation', 'pruefer', 'gray', got 8"),
    ('B.train_test_split(10, frac=1.0)',
     ValueError, 'train_test_split: frac must be a finite number > 0 and < 1, got 1.0 (float)'),
    ('B.exact_match(torch.zeros(3, 2), torch.zeros(3, 3))',
     ValueError, 'exact_match: target must be a tensor of the shape of pred, (3, 2), got a tensor of shape (3, 3) (float32)'),
    ('B.exact_match([[0.0]], torch.zeros(1, 1))',
     TypeError, 'exact_match: pred must be a torch.Tensor, got [[0.0]] (list)'),
    ('B.valid_fraction(torch.zeros(3, 8), "lehmer", side="z")',
     ValueError, "valid_fraction: side must be one of 'x', 'y', got 'z'"),
    ('B.round_to_int(torch.zeros(2, 3), dim=4)',
     ValueError, 'round_to_int: dim must be an int ≥ 1 and ≤ 3, got 4'),
    ('B.evaluate("gray", lambda x: x, indices=[5000])',
     ValueError, 'evaluate: indices must be a non-empty set of row numbers in 0..1023, got [5000] (list)'),
    ('B.evaluate("gray", "model")',
     TypeError, "evaluate: forward_fn must be a callable (a model or its forward), got 'model'"),
    ('B.is_bijective(torch.zeros(5, 10), "gray")',
     ValueError, 'is_bijective: pred must be the outputs on the whole set, N = 1024 rows (bijectivity is a property of the whole map), got a tensor of shape (5, 10) (float32)'),
    ('B.roundtrip_match(torch.zeros(2, 3), torch.zeros(2, 2))',
     ValueError, 'roundtrip_match: x_rec must be a tensor of the shape of x, (2, 3), got a tensor of shape (2, 2) (float32)'),
    ('invlab.is_invertible(torch.nn.Linear(2, 2), torch.zeros(1, 2))',
     TypeError, 'is_invertible: module must be an invlab.InvertibleModule (or pass forward=... and inverse=...), got a Linear module'),
]


def run(call: str):
    """Evaluate ``call`` here; the exception it raises (None if it raises none)."""
    try:
        eval(call)
    except Exception as e:  # noqa: BLE001 - the table is about which exception comes out
        return e
    finally:
        plt.close("all")
    return None


def raising_module(e: BaseException) -> str:
    """The invlab module whose code raised ``e`` (ignoring invlab.validate, which only words it)."""
    tb, name = e.__traceback__, "?"
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith("invlab") and module != "invlab.validate":
            name = module
        tb = tb.tb_next
    return name


def test_table_is_broad():
    assert len(BAD_INPUTS) >= 40
    modules = {raising_module(run(call)) for call, _, _ in BAD_INPUTS}
    assert {"invlab.squeeze", "invlab.coupling", "invlab.mmd", "invlab.data", "invlab.env",
            "invlab.plots", "invlab.checks", "invlab.bijections.combinatorics",
            "invlab.bijections.families", "invlab.bijections.metrics"} <= modules, modules
    kinds = {err for _, err, _ in BAD_INPUTS}
    assert kinds == {TypeError, ValueError}


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[c for c, _, _ in BAD_INPUTS])
def test_bad_input(call, error, message):
    e = run(call)
    assert e is not None, f"{call} raised nothing"
    assert type(e) is error or (isinstance(e, error) and type(e).__name__ == "UnknownBijectionError"), (
        f"{call} raised {type(e).__name__}: {e}")
    assert str(e) == message
    name = message.split(":")[0].split(".")[-1]
    assert name in call, f"the message names {name!r}, not the function called"


def markdown_table() -> str:
    """The table as markdown: call | error | message (what benchmarks/bad_inputs.py prints)."""
    rows = ["| # | module | call | error | message |", "|---|---|---|---|---|"]
    for i, (call, _, _) in enumerate(BAD_INPUTS, 1):
        e = run(call)
        text = str(e).replace("|", "\\|")
        where = raising_module(e).replace("invlab.", "")
        rows.append(f"| {i} | {where} | `{call}` | {type(e).__name__} | {text} |")
    return "\n".join(rows)
