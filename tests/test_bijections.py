"""Tests for invlab.bijections: the five bijections, their encodings, the split, the metrics."""
import doctest
import functools
import math
from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

import invlab.bijections as B
from invlab.bijections import (
    BIJECTIONS, UnknownBijectionError, conjugate, evaluate, exact_match, get_bijection,
    gray_decode, gray_encode, injectivity, is_bijective, lehmer_code, lehmer_decode,
    make_dataset, partition_to_subset, pruefer_code, pruefer_decode, round_to_int,
    roundtrip_match, subset_to_partition, table_predictor, train_test_split, valid_fraction,
)

NAMES = ["subsets", "lehmer", "conjugation", "pruefer", "gray"]

# |A| = |B| from the closed formulas, computed here independently of the module.
EXPECTED_SIZE = {
    "subsets": math.comb(16, 8),          # 12870
    "lehmer": math.factorial(8),          # 40320
    "conjugation": math.comb(18, 9),      # 48620
    "pruefer": 7 ** (7 - 2),              # 16807 (Cayley)
    "gray": 2 ** 10,                      # 1024
}
EXPECTED_DIM = {"subsets": 8, "lehmer": 8, "conjugation": 9, "pruefer": 6, "gray": 10}


def test_registry_has_the_required_bijections():
    assert set(NAMES) <= set(BIJECTIONS)
    for name in NAMES:
        assert get_bijection(name) is BIJECTIONS[name]
        assert BIJECTIONS[name].name == name


# ----------------------------------------------------------------- whole-set properties

@pytest.mark.parametrize("name", NAMES)
def test_cardinality_equals_formula(name):
    bij = BIJECTIONS[name]
    n = EXPECTED_SIZE[name]
    assert bij.cardinality == n
    assert str(n) in bij.formula
    dom, cod = bij.enumerate_domain(), bij.enumerate_codomain()
    assert len(dom) == n and len(set(dom)) == n       # enumerated without repeats
    assert len(cod) == n and len(set(cod)) == n


@functools.lru_cache(maxsize=None)
def whole_set_maps(name):
    """(domain, codomain, φ(domain), φ⁻¹(codomain)), computed once per bijection."""
    bij = BIJECTIONS[name]
    dom, cod = bij.enumerate_domain(), bij.enumerate_codomain()
    return dom, cod, [bij.forward(x) for x in dom], [bij.inverse(y) for y in cod]


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip_on_whole_set_both_directions(name):
    bij = BIJECTIONS[name]
    dom, cod, images, preimages = whole_set_maps(name)
    assert [bij.inverse(y) for y in images] == list(dom)      # φ⁻¹(φ(x)) = x for all x
    assert [bij.forward(x) for x in preimages] == list(cod)   # φ(φ⁻¹(y)) = y for all y


@pytest.mark.parametrize("name", NAMES)
def test_images_are_valid_members_and_map_is_injective(name):
    bij = BIJECTIONS[name]
    dom, cod, images, preimages = whole_set_maps(name)
    assert len(set(images)) == bij.cardinality                 # injective
    assert set(images) == set(cod)                             # members of B (enumerated directly), onto
    assert len(set(preimages)) == bij.cardinality
    assert set(preimages) == set(dom)
    # (that the *encoded* images pass is_valid_y: test_identity_predictions_score_perfectly)


# ----------------------------------------------------------------- known values and definitions

def test_spot_values():
    assert conjugate((3, 1)) == (2, 1, 1)
    assert conjugate((4, 2, 1)) == (3, 2, 1, 1)
    assert conjugate((3, 1, 0, 0)) == (2, 1, 1)
    assert lehmer_code((2, 0, 1)) == (2, 0, 0)
    assert lehmer_code((1, 5, 0, 6, 3, 4, 2)) == (1, 4, 0, 3, 1, 1, 0)
    assert lehmer_decode((1, 4, 0, 3, 1, 1, 0)) == (1, 5, 0, 6, 3, 4, 2)
    assert pruefer_code([(1, 4), (2, 4), (3, 4), (4, 5), (5, 6)]) == (4, 4, 4, 5)
    assert pruefer_code([(i, 7) for i in range(1, 7)]) == (7,) * 5          # star at 7
    assert pruefer_code([(i, i + 1) for i in range(1, 7)]) == (2, 3, 4, 5, 6)  # path
    assert pruefer_decode((4, 4, 4, 5)) == ((1, 4), (2, 4), (3, 4), (4, 5), (5, 6))
    assert subset_to_partition((2, 5), 5) == (3, 1)
    assert subset_to_partition(tuple(range(1, 9)), 16) == ()
    assert subset_to_partition(tuple(range(9, 17)), 16) == (8,) * 8
    assert partition_to_subset((3, 1), 5, 2) == (2, 5)
    assert [gray_encode(i) for i in range(8)] == [0, 1, 3, 2, 6, 7, 5, 4]
    assert gray_decode(7) == 5


def test_subsets_match_lattice_path_definition():
    # λ_{k+1-j} = #{m < s_j : m ∉ S}: right-steps before the j-th up-step
    dom, _, images, _ = whole_set_maps("subsets")
    for s, lam in zip(dom, images):
        counts = [sum(1 for m in range(1, sj) if m not in s) for sj in s]
        assert lam == tuple(c for c in reversed(counts) if c)


def test_lehmer_code_is_lexicographic_rank_in_factorial_base():
    n = 8
    dom, _, images, _ = whole_set_maps("lehmer")
    for rank, c in enumerate(images):         # the domain is enumerated in lexicographic order
        assert sum(ci * math.factorial(n - 1 - i) for i, ci in enumerate(c)) == rank


def test_conjugation_transposes_young_diagram():
    dom, _, images, _ = whole_set_maps("conjugation")
    for lam, mu in zip(dom[::3], images[::3]):              # every 3rd: ~16k partitions
        cells = {(i, j) for i, part in enumerate(lam) for j in range(part)}
        assert {(j, i) for i, j in cells} == {(i, j) for i, part in enumerate(mu) for j in range(part)}


def test_pruefer_multiplicity_is_degree_minus_one():
    dom, _, images, _ = whole_set_maps("pruefer")
    for tree, code in zip(dom, images):
        deg = Counter(v for e in tree for v in e)
        seq = Counter(code)
        assert all(seq[v] == deg[v] - 1 for v in range(1, 8))


def test_gray_neighbours_differ_in_one_bit():
    for i in range(2 ** 10 - 1):
        assert bin(gray_encode(i) ^ gray_encode(i + 1)).count("1") == 1


def test_smaller_instances_via_params():
    assert get_bijection("lehmer", n=4).cardinality == 24
    assert get_bijection("pruefer", n=5).dim == 4
    assert len(get_bijection("conjugation", rows=2, cols=3).enumerate_domain()) == math.comb(5, 2)
    small = get_bijection("subsets", n=6, k=2)
    assert len(small.enumerate_domain()) == 15
    assert get_bijection("subsets") is BIJECTIONS["subsets"]  # registry untouched


# ----------------------------------------------------------------- bad input

def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"lehmer_decode: code\[3\]=7 out of range; "
                                         r"expected 0 ≤ code\[3\] ≤ 4"):
        lehmer_decode((0, 0, 0, 7, 0, 0, 0, 0))
    with pytest.raises(ValueError, match=r"lehmer_code: perm repeats the value 0"):
        lehmer_code((0, 0, 2))
    with pytest.raises(ValueError, match=r"conjugate: partition\[1\]=3 > partition\[0\]=1"):
        conjugate((1, 3))
    with pytest.raises(ValueError, match=r"pruefer_code: .*cycle"):
        pruefer_code([(1, 2), (2, 3), (1, 3)])
    with pytest.raises(ValueError, match=r"pruefer_decode: seq\[0\]=9 out of range"):
        pruefer_decode((9, 1))
    with pytest.raises(ValueError, match=r"subsets.forward: .*expected D = 8"):
        BIJECTIONS["subsets"].forward((1, 2, 3))
    with pytest.raises(ValueError, match=r"pruefer.decode_y: .*always ends with n = 7"):
        BIJECTIONS["pruefer"].decode_y((1, 2, 3, 4, 5, 6))


def test_unknown_name_lists_valid_names():
    for exc in (KeyError, ValueError):
        with pytest.raises(exc) as info:
            get_bijection("permutations")
        msg = str(info.value)
        assert "'permutations'" in msg
        assert all(repr(n) in msg for n in NAMES)
    assert issubclass(UnknownBijectionError, KeyError)


# ----------------------------------------------------------------- encodings

@pytest.mark.parametrize("name", NAMES)
def test_encodings_equal_dim_and_decode_inverts_encode(name):
    bij = BIJECTIONS[name]
    X, Y = make_dataset(name)
    assert bij.dim == EXPECTED_DIM[name]
    assert X.shape == Y.shape == (EXPECTED_SIZE[name], bij.dim)
    assert X.dtype == Y.dtype == torch.float32
    assert torch.equal(X, X.round()) and torch.equal(Y, Y.round())
    dom, _, images, _ = whole_set_maps(name)
    # row i of (X, Y) is (encode_x(x_i), encode_y(φ(x_i))), so decoding the rows checks
    # decode ∘ encode = id on the domain and on the codomain (= the images); every 3rd row
    # plus the last, to keep the suite fast (the maps are checked on the whole set above)
    rows = list(range(0, len(X), 3)) + [len(X) - 1]
    assert [bij.decode_x(r) for r in X[rows].long().numpy().tolist()] == [dom[i] for i in rows]
    assert [bij.decode_y(r) for r in Y[rows].long().numpy().tolist()] == [images[i] for i in rows]
    for i in (0, len(X) // 2, len(X) - 1):
        assert tuple(X[i].long().tolist()) == bij.encode_x(dom[i])
        assert tuple(Y[i].long().tolist()) == bij.encode_y(images[i])
    # the input does not contain the target: X and Y differ on most rows
    assert (X != Y).any(dim=1).double().mean() > 0.5


@pytest.mark.parametrize("name", ["lehmer", "pruefer"])
def test_padding(name):
    D = BIJECTIONS[name].dim
    X, Y = make_dataset(name)
    Xp, Yp = make_dataset(name, pad_to=D + 3)
    assert Xp.shape == Yp.shape == (len(X), D + 3)
    assert torch.equal(Xp[:, :D], X) and torch.equal(Yp[:, :D], Y)
    assert not Xp[:, D:].any() and not Yp[:, D:].any()
    Xs, _ = make_dataset(name, pad_to=D)
    assert torch.equal(Xs, X)
    with pytest.raises(ValueError, match=rf"make_dataset: pad_to must be an int ≥ {D}, got {D - 1}"):
        make_dataset(name, pad_to=D - 1)
    with pytest.raises(TypeError, match="pad_to"):
        make_dataset(name, pad_to=float(D + 1))
    with pytest.raises(ValueError, match=rf"pad: width must be an int ≥ D = {D} \(the columns of t\), got {D - 1}"):
        B.pad(X, D - 1)


def test_is_valid_rejects_garbage():
    lehmer = BIJECTIONS["lehmer"]
    assert lehmer.is_valid_x((0, 1, 2, 3, 4, 5, 6, 7))
    assert not lehmer.is_valid_x((0, 0, 2, 3, 4, 5, 6, 7))
    assert not lehmer.is_valid_x((0, 1, 2))                    # wrong length
    assert not lehmer.is_valid_y((0, 0, 0, 0, 0, 0, 0, 1))     # c_7 must be 0
    assert not lehmer.is_valid_y((0.5,) * 8)                   # not integers
    conj = BIJECTIONS["conjugation"]
    assert conj.is_valid_x((3, 1, 0, 0, 0, 0, 0, 0, 0))
    assert not conj.is_valid_x((1, 3, 0, 0, 0, 0, 0, 0, 0))
    assert not conj.is_valid_x((10, 0, 0, 0, 0, 0, 0, 0, 0))
    tree = BIJECTIONS["pruefer"]
    assert tree.is_valid_x((7, 7, 7, 7, 7, 7))
    assert not tree.is_valid_x((2, 1, 7, 7, 7, 7))             # 1 ↔ 2 cycle
    assert not BIJECTIONS["gray"].is_valid_x((2,) + (0,) * 9)
    assert not BIJECTIONS["subsets"].is_valid_x((1, 1, 2, 3, 4, 5, 6, 7))


@pytest.mark.parametrize("name", NAMES)
def test_vectorized_validity_agrees_with_is_valid(name):
    # valid_rows (NumPy, used by the metrics) must equal the scalar is_valid_* row by row,
    # on valid rows and on perturbed / random / coordinate-swapped ones (about half invalid)
    bij = BIJECTIONS[name]
    rng = np.random.default_rng(0)
    for side, T in zip("xy", make_dataset(name)):
        a = T.long().numpy()
        near = a[rng.integers(0, len(a), 1500)].copy()
        hit = rng.random(len(near)) < 0.5
        col = rng.integers(0, bij.dim, len(near))
        near[hit, col[hit]] += rng.choice([-1, 1], hit.sum())
        rand = rng.integers(-1, int(a.max()) + 2, size=(500, bij.dim))
        swap = a[rng.integers(0, len(a), 500)].copy()
        swap[:, [0, bij.dim - 1]] = swap[:, [bij.dim - 1, 0]]
        rows = np.concatenate([a[::5], near, rand, swap])
        is_valid = bij.is_valid_x if side == "x" else bij.is_valid_y
        expected = np.array([is_valid(tuple(r)) for r in rows.tolist()])
        assert 0.2 < expected[len(a[::5]):].mean() < 0.9          # the probe has both kinds
        assert np.array_equal(bij.valid_rows(rows, side), expected)


# ----------------------------------------------------------------- split

def test_train_test_split():
    N = EXPECTED_SIZE["subsets"]
    tr, te = train_test_split(N, frac=0.75, seed=0)
    tr2, te2 = train_test_split(N, frac=0.75, seed=0)
    assert torch.equal(tr, tr2) and torch.equal(te, te2)                   # deterministic
    assert len(set(tr.tolist()) & set(te.tolist())) == 0                   # disjoint
    assert sorted(tr.tolist() + te.tolist()) == list(range(N))             # covers all
    assert len(tr) == round(0.75 * N) and len(te) == N - round(0.75 * N)   # 75 / 25
    assert not torch.equal(tr, train_test_split(N, seed=1)[0])             # seed matters
    assert tr.dtype == torch.int64
    with pytest.raises(ValueError, match="frac"):
        train_test_split(N, frac=1.0)


# ----------------------------------------------------------------- metrics

@pytest.mark.parametrize("name", NAMES)
def test_identity_predictions_score_perfectly(name):
    bij = BIJECTIONS[name]
    X, Y = make_dataset(name)
    assert exact_match(Y, Y) == 1.0 and exact_match(X, X) == 1.0
    assert valid_fraction(Y, bij, "y") == 1.0
    assert injectivity(Y) == 1.0 and injectivity(X) == 1.0
    assert is_bijective(Y, bij, "y") and is_bijective(X, bij, "x")   # includes validity of X


def test_evaluate_with_perfect_table_predictor():
    X, Y = make_dataset("subsets", pad_to=10)
    r = evaluate("subsets", table_predictor(X, Y), table_predictor(Y, X), pad_to=10)
    assert r["forward_exact"] == r["inverse_exact"] == 1.0
    assert r["valid_forward"] == r["valid_inverse"] == 1.0
    assert r["injective_forward"] == r["injective_inverse"] == 1.0
    assert r["bijective"] is True and r["n_eval"] == r["n_total"] == EXPECTED_SIZE["subsets"]


def test_constant_predictor_is_not_bijective():
    bij = BIJECTIONS["lehmer"]
    X, Y = make_dataset(bij)
    const = Y[:1].expand_as(Y)            # a valid Lehmer code, the same for every input
    assert valid_fraction(const, bij) == 1.0
    assert injectivity(const) == 1 / len(Y)
    assert not is_bijective(const, bij)
    r = evaluate(bij, lambda x: torch.zeros_like(x))
    assert r["bijective"] is False and r["forward_exact"] == 1 / len(Y)
    assert r["inverse_exact"] is None


def test_noise_below_half_still_exact_and_above_half_not():
    bij = BIJECTIONS["subsets"]
    _, Y = make_dataset(bij)
    g = torch.Generator().manual_seed(0)
    noise = (torch.rand(Y.shape, generator=g) * 2 - 1) * 0.4
    assert exact_match(Y + noise, Y) == 1.0
    assert is_bijective(Y + noise, bij)
    assert exact_match(Y + 0.6, Y) == 0.0


def test_padded_columns_are_ignored():
    bij = BIJECTIONS["pruefer"]
    D = bij.dim
    X, Y = make_dataset(bij, pad_to=D + 2)
    junk = Y.clone()
    junk[:, D:] = torch.randn(len(Y), 2) * 100
    assert exact_match(junk, Y, dim=D) == 1.0
    assert exact_match(junk, Y) < 0.01          # without dim the junk counts
    assert is_bijective(junk, bij)
    r = evaluate(bij, lambda x: table_predictor(X, junk)(x), pad_to=D + 2)
    assert r["forward_exact"] == 1.0 and r["bijective"]


def test_one_bad_row_breaks_validity_and_bijectivity():
    bij = BIJECTIONS["subsets"]
    _, Y = make_dataset(bij)
    bad = Y.clone()
    bad[0] = 9.0                                  # parts > 8: not in the 8×8 box
    assert valid_fraction(bad, bij) == 1 - 1 / len(Y)
    assert not is_bijective(bad, bij)
    nan = Y.clone()
    nan[3, 2] = float("nan")
    assert valid_fraction(nan, bij) == 1 - 1 / len(Y)
    assert exact_match(nan, Y) == 1 - 1 / len(Y)


def test_bijective_is_not_correct():
    # swapping two outputs keeps a bijection but makes it the wrong one
    bij = BIJECTIONS["lehmer"]
    _, Y = make_dataset(bij)
    swapped = Y.clone()
    swapped[[0, 1]] = Y[[1, 0]]
    assert is_bijective(swapped, bij)
    assert exact_match(swapped, Y) == 1 - 2 / len(Y)
    # gray: every 0/1 vector is valid, so the identity on bits is a bijection, mostly wrong
    X, Yg = make_dataset("gray")
    assert is_bijective(X, BIJECTIONS["gray"], "y") and exact_match(X, Yg) < 0.01


def test_roundtrip_metric_is_not_accuracy():
    X, Y = make_dataset("lehmer", dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    A = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))[0]  # random invertible
    Yp = X @ A
    X_rec = Yp @ torch.linalg.inv(A)
    assert roundtrip_match(X, X_rec) == 1.0           # "100 %", for random weights
    assert exact_match(Yp, Y) < 0.01                  # the honest accuracy is ~0
    r = evaluate("lehmer", lambda x: x @ A.to(x.dtype), dtype=torch.float64)
    assert r["forward_exact"] < 0.01 and r["bijective"] is False


def test_roundtrip_metric_passes_a_random_coupling_inn():
    # the pitfall on a real INN: random weights, no training, "100 %" round trip
    from invlab import randomize_
    from invlab.coupling import AffineCoupling, Permutation, SequenceINN, mlp
    torch.manual_seed(0)
    inn = randomize_(SequenceINN(AffineCoupling(8, mlp), Permutation(8, seed=1),
                                 AffineCoupling(8, mlp)), std=0.3).double().eval()
    X, Y = make_dataset("lehmer", dtype=torch.float64)
    with torch.no_grad():
        Yp = inn(X)
        X_rec = inn.inverse(Yp)
    assert roundtrip_match(X, X_rec) == 1.0
    assert exact_match(Yp, Y) < 0.01
    r = evaluate("lehmer", inn, inn.inverse)
    assert r["forward_exact"] < 0.01 and r["bijective"] is False


def test_evaluate_held_out_indices_and_module_handling():
    bij = BIJECTIONS["gray"]
    X, Y = make_dataset(bij)
    tr, te = train_test_split(len(X), seed=0)
    model = nn.Linear(bij.dim, bij.dim)
    with torch.no_grad():
        model.weight.copy_(torch.eye(bij.dim))
        model.bias.zero_()
    model.train()
    r = evaluate(bij, model, indices=te)
    assert model.training                              # restored
    assert r["n_eval"] == len(te) and r["n_total"] == len(X)
    assert r["forward_exact"] == exact_match(X[te], Y[te])
    assert r["bijective"] is True                      # identity on bits, whole set

    class WithLogDet(nn.Module):                       # returns (y, log_det)
        def forward(self, x):
            return x, x.new_zeros(x.shape[0])
    assert evaluate(bij, WithLogDet())["injective_forward"] == 1.0
    with pytest.raises(ValueError, match="indices"):
        evaluate(bij, model, indices=[len(X)])
    with pytest.raises(ValueError, match="the whole set, N = 1024 rows"):
        is_bijective(Y[te], bij)


def test_decode_predictions():
    bij = BIJECTIONS["conjugation"]
    pred = torch.tensor([[3.2, 0.9] + [0.0] * 7 + [55.0],      # (3, 1), junk in a pad column
                         [1.0, 3.0] + [0.0] * 7 + [0.0]])      # not decreasing: invalid
    assert B.decode_predictions(pred, bij, "y") == [(3, 1), None]


def test_round_to_int_handles_nonfinite_and_padding():
    r = round_to_int(torch.tensor([[0.4, 1.6, 9.0], [float("inf"), -0.2, 3.0]]), dim=2)
    assert r.tolist() == [[0, 2], [-1, 0]]
    with pytest.raises(ValueError, match=r"^round_to_int: dim must be an int ≥ 1 and ≤ 3, got 4$"):
        round_to_int(torch.zeros(2, 3), dim=4)
    with pytest.raises(TypeError, match=r"^round_to_int: pred must be a torch.Tensor, got \[\[0.5\]\] \(list\)$"):
        round_to_int([[0.5]])
    with pytest.raises(ValueError, match=r"^round_to_int: pred must be a tensor with 2 axes, got a tensor of shape \(3,\)"):
        round_to_int(torch.zeros(3))
    assert round_to_int(torch.tensor([[0.5, 1.5, 2.5, -0.5]])).tolist() == [[0, 2, 2, 0]]   # ties to even
    assert round_to_int(torch.tensor([[1e30, -1e30]])).tolist() == [[2 ** 62, -2 ** 62]]  # clamped
    assert round_to_int(torch.tensor([[2.6, 7.0]]), dim=1).dtype == torch.int64


# ----------------------------------------------------------------- doctests

@pytest.mark.parametrize("module", [B, B.combinatorics, B.families, B.metrics],
                         ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# ----------------------------------------------------------------- the package's shape

PUBLIC_NAMES = [  # what the labs and tests used before the split: all must keep working
    "subset_to_partition", "partition_to_subset", "lehmer_code", "lehmer_decode",
    "conjugate", "partitions_in_box", "pruefer_code", "pruefer_decode",
    "tree_parent_array", "tree_from_parent_array", "gray_encode", "gray_decode",
    "Bijection", "UnknownBijectionError", "BIJECTIONS", "get_bijection",
    "subsets_bijection", "lehmer_bijection", "conjugation_bijection",
    "pruefer_bijection", "gray_bijection", "make_dataset", "pad", "train_test_split",
    "round_to_int", "exact_match", "valid_fraction", "injectivity", "is_bijective",
    "decode_predictions", "evaluate", "roundtrip_match", "table_predictor",
]


def test_public_names_still_exported():
    assert set(PUBLIC_NAMES) <= set(B.__all__)
    for name in PUBLIC_NAMES:
        assert getattr(B, name) is not None


def test_modules_are_small_and_combinatorics_has_no_torch():
    import ast
    import pathlib
    for path in pathlib.Path(B.__file__).parent.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 600, path
    tree = ast.parse(pathlib.Path(B.combinatorics.__file__).read_text())
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for a in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert "torch" not in imported


def test_metrics_use_only_the_public_api_of_a_bijection():
    import ast
    import pathlib
    tree = ast.parse(pathlib.Path(B.metrics.__file__).read_text())
    private = [node.attr for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_")
               and isinstance(node.value, ast.Name) and node.value.id in ("bij", "B", "C")]
    assert private == []


def test_pad_delegates_to_data_pad():
    from invlab import data
    t = torch.ones(3, 2)
    assert torch.equal(B.pad(t, 4), data.pad(t, 4))
    assert B.pad(t, None) is t or torch.equal(B.pad(t, None), t)


# ----------------------------------------------------------------- roundtrip_match can fail

def test_roundtrip_match_counts_rows_that_come_back():
    X, _ = make_dataset("lehmer")
    assert roundtrip_match(X, X) == 1.0
    assert roundtrip_match(X, X + 0.6) == 0.0              # every row off by one after rounding
    bad = X.clone()
    bad[:10, 3] += 1.0                                      # 10 rows not reconstructed
    assert roundtrip_match(X, bad) == pytest.approx(1 - 10 / len(X))
    bad2 = X.clone()
    bad2[::2, 0] += 0.4                                     # below half: still the same integers
    assert roundtrip_match(X, bad2) == 1.0
    padded = torch.cat([X[:4], torch.zeros(4, 2)], dim=1)
    junk = torch.cat([X[:4], torch.randn(4, 2) * 9], dim=1)
    assert roundtrip_match(padded, junk, dim=8) == 1.0     # padding ignored with dim
    assert roundtrip_match(padded, junk) < 1.0
    with pytest.raises(ValueError, match="roundtrip_match: x_rec"):
        roundtrip_match(X, X[:, :3])


# ---------------------------------------------------------------- metrics: edges the mutation run found untested
def test_metrics_refuse_empty_short_and_mismatched_inputs():
    with pytest.raises(ValueError, match=r"exact_match: pred must be a non-empty tensor \(N, D\)"):
        B.exact_match(torch.zeros(0, 2), torch.zeros(0, 2))
    with pytest.raises(ValueError, match=r"exact_match: target must be a non-empty tensor"):
        B.exact_match(torch.zeros(1, 2), torch.zeros(0, 2))
    B.exact_match(torch.zeros(1, 2), torch.zeros(1, 2))                      # one row is enough
    with pytest.raises(TypeError, match="exact_match: target must be a torch.Tensor"):
        B.exact_match(torch.zeros(1, 2), [[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"valid_fraction: pred must be a tensor with at least D = 8 columns"):
        B.valid_fraction(torch.zeros(3, 7), "lehmer")
    with pytest.raises(ValueError, match="injectivity: dim must be"):
        B.injectivity(torch.zeros(3, 2), dim=3)
    with pytest.raises(ValueError, match="injectivity: dim must be"):
        B.injectivity(torch.zeros(3, 2), dim=0)
    assert B.injectivity(torch.tensor([[0., 1.], [0., 2.]]), dim=1) == 0.5   # only the first column counts
    with pytest.raises(ValueError, match=r"table_predictor: outputs must be a tensor with the 2 rows of inputs"):
        B.table_predictor(torch.zeros(2, 2), torch.zeros(3, 2))


def test_metrics_evaluate_checks_its_maps_and_indices():
    with pytest.raises(ValueError, match=r"evaluate: forward_fn must be a map returning a tensor of the "
                                         r"input's shape \(1024, 10\) \(it returned \(1024, 9\)\)"):
        B.evaluate("gray", lambda x: x[:, :9])
    with pytest.raises(ValueError, match=r"evaluate: inverse_fn must be a map returning"):
        B.evaluate("gray", lambda x: x, lambda y: y.tolist())
    with pytest.raises(TypeError, match="evaluate: inverse_fn must be a callable or None"):
        B.evaluate("gray", lambda x: x, "inverse")
    for bad in ([0.5, 1.5], torch.tensor([True, False]), "abc"):
        with pytest.raises(TypeError, match="evaluate: indices must be row numbers"):
            B.evaluate("gray", lambda x: x, indices=bad)
    for bad in ([], [-1], [1024]):
        with pytest.raises(ValueError, match=r"evaluate: indices must be a non-empty set of row numbers in 0..1023"):
            B.evaluate("gray", lambda x: x, indices=bad)
    assert B.evaluate("gray", lambda x: x, indices=[0, 1023])["n_eval"] == 2  # both ends are rows


def test_metrics_evaluate_runs_a_module_in_eval_mode_on_its_dtype():
    X, Y = B.make_dataset("gray")
    table = B.table_predictor(X, Y)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones((), dtype=torch.float64))
            self.seen = []

        def forward(self, x):
            self.seen.append((self.training, x.dtype))
            out = table(x) * self.w
            return out if not self.training else out + 0.5   # wrong in training mode

    m = Model().train()
    r = B.evaluate("gray", m)
    assert r["forward_exact"] == 1.0 and r["bijective"] and m.training
    assert m.seen == [(False, torch.float64)]                # eval mode, the parameters' dtype
    r = B.evaluate("gray", m.forward)                        # a bound method finds its module too
    assert r["forward_exact"] == 1.0 and m.seen[-1] == (False, torch.float64)
    assert B.evaluate("gray", table, dtype=torch.float64)["forward_exact"] == 1.0
    assert B.evaluate("gray", lambda x: (table(x), None))["forward_exact"] == 1.0   # (y, log_det) tuples


def test_metrics_table_predictor_marks_unknown_rows():
    f = B.table_predictor(torch.tensor([[0., 1.], [1., 0.]]), torch.tensor([[5., 5.], [6., 6.]]))
    out = f(torch.tensor([[0., 1.], [2., 2.]]))
    assert torch.equal(out[0], torch.tensor([5., 5.])) and torch.isnan(out[1]).all()
