"""The families of lab 2: one class per bijection φ: A → B, a registry, and the whole set as data.

The registry (:data:`BIJECTIONS`; other sizes via ``get_bijection(name, **params)``)::

    name         x family (domain A)         y family (codomain B)      |A| = |B|            D
    subsets      8-subsets of [16]           partitions in 8×8 box      C(16, 8) = 12870     8
    lehmer       permutations of {0,…,7}     Lehmer codes, c_i ≤ 7−i    8! = 40320           8
    conjugation  partitions in 9×9 box       partitions in 9×9 box      C(18, 9) = 48620     9
    pruefer      labelled trees on [7]       Prüfer sequences in [7]^5  7^(7−2) = 16807      6
    gray         integers 0 … 2^10−1 (bits)  Gray codewords (bits)      2^10 = 1024          10

Each family is a subclass of :class:`Bijection` that says four things: its validity
``rules`` for each side (from :mod:`.combinatorics`, written once), how an object becomes a
vector of D integers (``_to_vec``) and back (``_from_vec``), and the map (``_apply``).
The public methods validate **once** (encode, check the rules) and then run the algorithm.
"""
from __future__ import annotations

import itertools
import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..data import pad
from ..validate import check_choice, check_float, check_int, describe, fail_type, fail_value
from . import combinatorics as C
from . import trees as T
from .combinatorics import Rule, Vec

__all__ = ["Bijection", "Subsets", "Lehmer", "Conjugation", "Pruefer", "Gray",
           "subsets_bijection", "lehmer_bijection", "conjugation_bijection",
           "pruefer_bijection", "gray_bijection", "UnknownBijectionError", "BIJECTIONS",
           "get_bijection", "as_bijection", "make_dataset", "train_test_split", "pad"]

SIDES = ("x", "y")


class Bijection:
    """A bijection φ: A → B between two finite families, with encodings of one length D.

    *Objects* are the mathematical objects (tuples, ints); *vectors* are tuples of ``dim``
    integers, the encodings a network sees. Every vector of the x side decodes to exactly
    one member of A, and ``is_valid_x`` tells which integer vectors are encodings at all
    (likewise for y and B).

    Attributes:
        name: registry key, e.g. ``"lehmer"``.
        x_family, y_family: what A and B are, in words.
        cardinality: |A| = |B|, from the closed formula (not by counting).
        formula: that formula as text, e.g. ``"8! = 40320"``.
        dim: D, the length of both encodings.
        params: the construction parameters, e.g. ``{"n": 8}``.

    Methods: ``enumerate_domain()`` / ``enumerate_codomain()`` (B enumerated independently
    of φ, so that tests of φ mean something); ``forward(x)`` = φ(x), ``inverse(y)`` = φ⁻¹(y);
    ``encode_x`` / ``decode_x``, ``encode_y`` / ``decode_y``; ``is_valid_x`` /
    ``is_valid_y`` (never raise); ``valid_rows(rows, side)`` (vectorised, what the
    metrics use); ``encoded_set()`` → the whole set as two (N, D) int64 arrays.

    >>> b = get_bijection("lehmer")
    >>> b.forward((2, 0, 1, 3, 4, 5, 6, 7)), b.dim, b.cardinality
    ((2, 0, 0, 0, 0, 0, 0, 0), 8, 40320)
    >>> b.is_valid_y((7, 7, 0, 0, 0, 0, 0, 0))
    False
    """

    name = ""

    def __init__(self, *, x_family: str, y_family: str, cardinality: int, formula: str,
                 dim: int, params: dict, rules: Dict[str, List[Rule]]):
        self.x_family, self.y_family = x_family, y_family
        self.cardinality, self.formula, self.dim = int(cardinality), formula, int(dim)
        self.params, self.rules = dict(params), rules
        self._cache: dict = {}

    # -- what a family defines (objects are canonical and vectors valid when these run)
    def _enumerate(self, side: str):
        raise NotImplementedError

    def _to_vec(self, side: str, obj) -> Vec:
        raise NotImplementedError

    def _from_vec(self, side: str, vec: Vec):
        raise NotImplementedError

    def _apply(self, side: str, obj):
        """φ(obj) for side "x", φ⁻¹(obj) for side "y"."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}: {self.x_family} → {self.y_family}, "
                f"|A| = |B| = {self.formula}, D = {self.dim})")

    # -- whole families
    def _all(self, side: str) -> tuple:
        if side not in self._cache:
            self._cache[side] = tuple(self._enumerate(side))
        return self._cache[side]

    def enumerate_domain(self) -> tuple:
        """Every member of A, in a fixed order (the row order of :func:`make_dataset`)."""
        return self._all("x")

    def enumerate_codomain(self) -> tuple:
        """Every member of B, enumerated directly (not as images under φ)."""
        return self._all("y")

    # -- validation, once
    def _family(self, side: str) -> str:
        return self.x_family if side == "x" else self.y_family

    def problem(self, side: str, vec) -> Optional[str]:
        """None if ``vec`` (D integers) encodes a member of the family on ``side``, else why not."""
        try:
            v = C.int_tuple(vec, "", "vec")
        except (TypeError, ValueError) as e:
            return str(e).lstrip(": ")
        if len(v) != self.dim:
            return f"length {len(v)}; expected D = {self.dim}"
        return C.first_problem(self.rules[side], v)

    def _member(self, side: str, obj, fn: str) -> Vec:
        """Encode the object ``obj`` and check it is a member of the family; its vector."""
        try:
            vec = self._to_vec(side, obj)
        except (TypeError, ValueError, IndexError, KeyError) as e:
            msg = str(e)
        else:
            msg = self.problem(side, vec)
            if msg is None:
                return vec
            msg = msg if len(vec) == self.dim else f"encodes to {msg}"
        raise ValueError(f"{self.name}.{fn}: {describe(obj)} is not a member of "
                         f"{self._family(side)}: {msg}")

    def is_valid_x(self, vec) -> bool:
        """True iff ``vec`` (D integers) encodes a member of A."""
        return self.problem("x", vec) is None

    def is_valid_y(self, vec) -> bool:
        """True iff ``vec`` (D integers) encodes a member of B."""
        return self.problem("y", vec) is None

    def valid_rows(self, rows, side: str = "y") -> np.ndarray:
        """Row-wise ``is_valid_<side>`` of an (N, D) integer array or tensor, vectorised."""
        fn = f"{self.name}.valid_rows"
        side = check_choice(fn, "side", side, SIDES)
        a = np.asarray(rows.detach().cpu().numpy() if isinstance(rows, torch.Tensor) else rows)
        if a.ndim != 2 or a.shape[1] != self.dim or not np.issubdtype(a.dtype, np.integer):
            fail_value(fn, "rows", rows, f"an integer array of shape (N, {self.dim})")
        return C.rows_valid(self.rules[side], a.astype(np.int64, copy=False))

    # -- the maps
    def forward(self, x):
        """φ(x) for x ∈ A (ValueError if x ∉ A)."""
        return self._apply("x", self._from_vec("x", self._member("x", x, "forward")))

    def inverse(self, y):
        """φ⁻¹(y) for y ∈ B (ValueError if y ∉ B)."""
        return self._apply("y", self._from_vec("y", self._member("y", y, "inverse")))

    # -- encodings
    def encode_x(self, x) -> Vec:
        """x ∈ A → tuple of D ints."""
        return self._member("x", x, "encode_x")

    def encode_y(self, y) -> Vec:
        """y ∈ B → tuple of D ints."""
        return self._member("y", y, "encode_y")

    def _decode(self, side: str, vec, fn: str):
        msg = self.problem(side, vec)
        if msg:
            raise ValueError(f"{self.name}.{fn}: vec={describe(vec)} does not encode a member "
                             f"of {self._family(side)}: {msg}")
        return self._from_vec(side, C.int_tuple(vec, fn, "vec"))

    def decode_x(self, vec):
        """D ints → member of A (ValueError if ``vec`` encodes none)."""
        return self._decode("x", vec, "decode_x")

    def decode_y(self, vec):
        """D ints → member of B (ValueError if ``vec`` encodes none)."""
        return self._decode("y", vec, "decode_y")

    def encoded_set(self) -> Tuple[np.ndarray, np.ndarray]:
        """(X, Y): (N, D) int64 arrays, row i = (encode_x(a_i), encode_y(φ(a_i))) (cached)."""
        if "encoded" not in self._cache:
            xs = self.enumerate_domain()
            X = np.array([self._to_vec("x", x) for x in xs], dtype=np.int64).reshape(-1, self.dim)
            Y = np.array([self._to_vec("y", self._apply("x", x)) for x in xs],
                         dtype=np.int64).reshape(-1, self.dim)
            assert self.valid_rows(X, "x").all() and self.valid_rows(Y, "y").all()
            X.flags.writeable = Y.flags.writeable = False
            self._cache["encoded"] = (X, Y)
        return self._cache["encoded"]


class Subsets(Bijection):
    """k-subsets of [n] ↔ partitions in a k × (n−k) box; |·| = C(n, k); D = k.

    x-vector: the sorted subset (values 1 … n). y-vector: the parts padded with zeros to
    length k. Maps: :func:`subset_to_partition` / :func:`partition_to_subset`.
    """

    name = "subsets"

    def __init__(self, n: int = 16, k: int = 8):
        n = check_int("subsets_bijection", "n", n, min=1)
        k = check_int("subsets_bijection", "k", k, min=1, max=n)
        card = math.comb(n, k)
        super().__init__(x_family=f"{k}-subsets of [{n}]", y_family=f"partitions in the {k}×{n - k} box",
                         cardinality=card, formula=f"C({n}, {k}) = {card}", dim=k,
                         params={"n": n, "k": k},
                         rules={"x": [C.in_range(1, n), C.increasing()],
                                "y": C.box_partition(k, n - k)})

    def _enumerate(self, side):
        n, k = self.params["n"], self.params["k"]
        return (itertools.combinations(range(1, n + 1), k) if side == "x"
                else C.partitions_in_box(k, n - k))

    def _to_vec(self, side, obj):
        v = C.int_tuple(obj, "encode", "subset" if side == "x" else "partition")
        return v if side == "x" else C.pad_zeros(v, self.dim)

    def _from_vec(self, side, vec):
        return tuple(vec) if side == "x" else C.strip_zeros(vec)

    def _apply(self, side, obj):
        return C._subset_to_partition(obj) if side == "x" else C._partition_to_subset(obj, self.dim)


class Lehmer(Bijection):
    """Permutations of {0, …, n−1} ↔ Lehmer codes; |·| = n!; D = n.

    x-vector: the permutation in one-line notation. y-vector: the code (c_{n−1} = 0 always).
    Maps: :func:`lehmer_code` / :func:`lehmer_decode`.
    """

    name = "lehmer"

    def __init__(self, n: int = 8):
        n = check_int("lehmer_bijection", "n", n, min=1)
        card = math.factorial(n)
        super().__init__(x_family=f"permutations of {{0,…,{n - 1}}}",
                         y_family=f"Lehmer codes of length {n}", cardinality=card,
                         formula=f"{n}! = {card}", dim=n, params={"n": n},
                         rules={"x": [C.permutation()], "y": C.lehmer_rules(n)})

    def _enumerate(self, side):
        n = self.dim
        return (itertools.permutations(range(n)) if side == "x"
                else itertools.product(*(range(n - i) for i in range(n))))

    def _to_vec(self, side, obj):
        return C.int_tuple(obj, "encode", "perm" if side == "x" else "code")

    def _from_vec(self, side, vec):
        return tuple(vec)

    def _apply(self, side, obj):
        return C._lehmer_code(obj) if side == "x" else C._lehmer_decode(obj)


class Conjugation(Bijection):
    """Partitions in a rows × cols box ↔ their conjugates (in a cols × rows box).

    |·| = C(rows + cols, rows); D = max(rows, cols); both vectors are the parts padded
    with zeros to length D. Map: :func:`conjugate` (an involution) both ways.
    """

    name = "conjugation"

    def __init__(self, rows: int = 9, cols: int = 9):
        r = check_int("conjugation_bijection", "rows", rows, min=1)
        c = check_int("conjugation_bijection", "cols", cols, min=1)
        card = math.comb(r + c, r)
        super().__init__(x_family=f"partitions in the {r}×{c} box",
                         y_family=f"partitions in the {c}×{r} box", cardinality=card,
                         formula=f"C({r + c}, {r}) = {card}", dim=max(r, c),
                         params={"rows": r, "cols": c},
                         rules={"x": C.box_partition(r, c), "y": C.box_partition(c, r)})

    def _enumerate(self, side):
        r, c = self.params["rows"], self.params["cols"]
        return C.partitions_in_box(r, c) if side == "x" else C.partitions_in_box(c, r)

    def _to_vec(self, side, obj):
        return C.pad_zeros(C.int_tuple(obj, "encode", "partition"), self.dim)

    def _from_vec(self, side, vec):
        return C.strip_zeros(vec)

    def _apply(self, side, obj):
        return C._conjugate(obj)


class Pruefer(Bijection):
    """Labelled trees on [n] ↔ Prüfer sequences in [n]^(n−2); |·| = n^(n−2) (Cayley); D = n − 1.

    x-vector: the parent array (p_1, …, p_{n−1}) of the tree rooted at n
    (:func:`tree_parent_array`). y-vector: the Prüfer sequence followed by n, i.e. the
    *extended* code that runs the leaf removal one step further (that step always writes
    n, see :func:`pruefer_code`), so both sides have length n − 1; ``is_valid_y`` demands
    the last entry be n. Maps: :func:`pruefer_code` / :func:`pruefer_decode`.
    """

    name = "pruefer"

    def __init__(self, n: int = 7):
        n = check_int("pruefer_bijection", "n", n, min=2)
        card = n ** (n - 2)
        super().__init__(x_family=f"labelled trees on [{n}]",
                         y_family=f"Prüfer sequences in [{n}]^{n - 2}", cardinality=card,
                         formula=f"{n}^({n}−2) = {card}", dim=n - 1, params={"n": n},
                         rules={"x": T.parent_rules(n - 1),
                                "y": [C.in_range(1, n), C.ends_with(n)]})

    def _enumerate(self, side):
        n = self.params["n"]
        return T.trees_on(n) if side == "x" else itertools.product(range(1, n + 1), repeat=n - 2)

    def _to_vec(self, side, obj):
        n = self.params["n"]
        if side == "x":
            return T.tree_parent_array(obj)
        s = C.int_tuple(obj, "encode", "seq")
        if len(s) != n - 2:
            raise ValueError(f"length {len(s)}; expected a Prüfer sequence of length n − 2 = {n - 2}")
        return s + (n,)

    def _from_vec(self, side, vec):
        return T._tree_from_parents(vec) if side == "x" else tuple(vec[:-1])

    def _apply(self, side, obj):
        return T._pruefer_code(obj, self.params["n"]) if side == "x" else T._pruefer_decode(obj)


class Gray(Bijection):
    """Integers 0 … 2^n − 1 ↔ their n-bit Gray codewords; |·| = 2^n; D = n.

    Both vectors are the n bits, most significant first, so *every* 0/1 vector is valid on
    both sides: validity is free here and "bijective" reduces to "injective". The forward
    map is local (g_j = b_j XOR b_{j−1}), the inverse is a prefix parity: the hard case.
    Maps: :func:`gray_encode` / :func:`gray_decode`.
    """

    name = "gray"

    def __init__(self, n_bits: int = 10):
        n = check_int("gray_bijection", "n_bits", n_bits, min=1)
        bit = [C.in_range(0, 1)]
        super().__init__(x_family=f"integers 0…{2 ** n - 1} ({n} bits)",
                         y_family=f"{n}-bit Gray codewords", cardinality=2 ** n,
                         formula=f"2^{n} = {2 ** n}", dim=n, params={"n_bits": n},
                         rules={"x": bit, "y": bit})

    def _enumerate(self, side):
        return range(2 ** self.dim)

    def _to_vec(self, side, obj):
        i = check_int("encode", "i", obj, min=0, max=2 ** self.dim - 1)
        return C.bits(i, self.dim)

    def _from_vec(self, side, vec):
        return C.from_bits(vec)

    def _apply(self, side, obj):
        return C.gray_encode(obj) if side == "x" else C.gray_decode(obj)


# the factories under their historical names
subsets_bijection, lehmer_bijection, conjugation_bijection = Subsets, Lehmer, Conjugation
pruefer_bijection, gray_bijection = Pruefer, Gray

_FAMILIES = {cls.name: cls for cls in (Subsets, Lehmer, Conjugation, Pruefer, Gray)}

#: The lab's default instances, by name (see the table in the module docstring).
BIJECTIONS: Dict[str, Bijection] = {name: cls() for name, cls in _FAMILIES.items()}


class UnknownBijectionError(KeyError, ValueError):
    """Raised by :func:`get_bijection` for a name not in :data:`BIJECTIONS`.

    Both a KeyError (a failed lookup) and a ValueError (a bad argument).
    """

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


def get_bijection(name, **params) -> Bijection:
    """The bijection called ``name``; with ``params``, a fresh instance of another size.

    >>> get_bijection("conjugation").dim
    9
    >>> get_bijection("lehmer", n=4).cardinality
    24
    >>> get_bijection("permutations")
    Traceback (most recent call last):
    ...
    invlab.bijections.families.UnknownBijectionError: get_bijection: name must be one of 'subsets', 'lehmer', 'conjugation', 'pruefer', 'gray', got 'permutations'
    """
    if isinstance(name, Bijection):
        if params:
            fail_value("get_bijection", "params", params, "empty when name is a Bijection")
        return name
    if not isinstance(name, str):
        fail_type("get_bijection", "name", name, "a Bijection or a registry name (str)")
    if name not in _FAMILIES:
        valid = ", ".join(repr(k) for k in _FAMILIES)
        raise UnknownBijectionError(
            f"get_bijection: name must be one of {valid}, got {name!r}")
    return _FAMILIES[name](**params) if params else BIJECTIONS[name]


def as_bijection(bij, fn: str) -> Bijection:
    """A :class:`Bijection`, from itself or its registry name (for ``fn``'s messages)."""
    if isinstance(bij, Bijection):
        return bij
    if isinstance(bij, str):
        if bij not in _FAMILIES:
            fail_value(fn, "bij", bij, "a Bijection or one of " + ", ".join(map(repr, _FAMILIES)))
        return BIJECTIONS[bij]
    fail_type(fn, "bij", bij, "a Bijection or one of " + ", ".join(map(repr, _FAMILIES)))


# --------------------------------------------------------------------------- the whole set as data

def make_dataset(bij, pad_to: Optional[int] = None,
                 dtype: torch.dtype = torch.float32) -> Tuple[torch.Tensor, torch.Tensor]:
    """The whole set as float tensors: row i is (encode_x(a_i), encode_y(φ(a_i))).

    Args:
        bij: a :class:`Bijection` or its registry name.
        pad_to: None for width D, or an integer ≥ D: zero columns are appended to both.
        dtype: float dtype of the result (the integer values are exact in float32).

    Returns:
        ``(X, Y)``, each of shape ``(N, D)`` or ``(N, pad_to)``, N = ``bij.cardinality``,
        rows in the order of ``bij.enumerate_domain()``; values in the original integer units.

    >>> X, Y = make_dataset("lehmer")
    >>> X.shape, Y.shape, X.dtype
    (torch.Size([40320, 8]), torch.Size([40320, 8]), torch.float32)
    >>> make_dataset("subsets", pad_to=10)[1].shape
    torch.Size([12870, 10])
    """
    bij = as_bijection(bij, "make_dataset")
    if pad_to is not None:
        check_int("make_dataset", "pad_to", pad_to, min=bij.dim)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        fail_type("make_dataset", "dtype", dtype, "a floating-point torch.dtype")
    Xi, Yi = bij.encoded_set()
    return (pad(torch.tensor(Xi, dtype=dtype), pad_to), pad(torch.tensor(Yi, dtype=dtype), pad_to))


def train_test_split(N: int, frac: float = 0.75, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Deterministic disjoint split of the indices 0 … N−1 into train and test.

    ``round(frac · N)`` indices, drawn by a permutation seeded with ``seed``, go to train,
    the rest to test. Both are returned sorted, as int64 tensors; same (N, frac, seed),
    same split.

    >>> tr, te = train_test_split(8, seed=0)
    >>> len(tr), len(te), sorted(tr.tolist() + te.tolist()) == list(range(8))
    (6, 2, True)
    """
    fn = "train_test_split"
    N = check_int(fn, "N", N, min=2)
    frac = check_float(fn, "frac", frac, min=0, max=1, min_open=True, max_open=True)
    seed = check_int(fn, "seed", seed)
    n_train = int(round(frac * N))
    if not 0 < n_train < N:
        fail_value(fn, "frac", frac, f"a fraction that leaves both parts of N = {N} non-empty "
                                     f"(it gives {n_train} training rows)")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(N, generator=g)
    return perm[:n_train].sort().values, perm[n_train:].sort().values

