"""Pure combinatorics: the bijections of lab 2, both directions, and their validity rules.

No torch here: objects are tuples of Python ints (NumPy only vectorises the rules). Trees and
their Prüfer sequences live in :mod:`.trees`, on the rules written here.

Conventions: [n] = {1, …, n}; subsets and partitions are tuples (a partition lists its
positive parts, weakly decreasing, ``()`` is the empty one); permutations are tuples of
0 … n−1; trees are sorted tuples of edges ``(u, v)`` with u < v on the vertices [n].

Validity rules are written **once**, as :class:`Rule` objects that test a whole
``(N, D)`` integer array at a time; the public functions below and the families of
:mod:`invlab.bijections.families` both check their input with them, and the reason a
rule gives names the first bad entry::

    lehmer_decode: code[3]=7 out of range; expected 0 ≤ code[3] ≤ 1

Each public function validates its argument once and runs the algorithm (``_core``),
which the families call on vectors they have already validated.
"""
from __future__ import annotations

import operator
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..validate import check_int, fail_type, fail_value

__all__ = [
    "Rule", "in_range", "increasing", "decreasing", "at_most_parts", "permutation",
    "ends_with", "rooted_tree", "box_partition", "first_problem", "rows_valid", "int_tuple",
    "subset_to_partition", "partition_to_subset", "lehmer_code", "lehmer_decode",
    "conjugate", "partitions_in_box", "gray_encode", "gray_decode",
    "bits", "from_bits", "strip_zeros", "pad_zeros", "lehmer_rules",
]

Vec = Tuple[int, ...]


# --------------------------------------------------------------------------- integer vectors

def int_tuple(vec, fn: str, arg: str) -> Vec:
    """``vec`` (a sequence, NumPy array or 1-D tensor of integers) as a tuple of Python ints.

    Not a sequence → TypeError; a 2-D array or a non-integral float → ValueError.

    >>> int_tuple([1, 2.0], "f", "v")
    (1, 2)
    """
    if type(vec) is tuple and all(type(v) is int for v in vec):       # fast path
        return vec
    if hasattr(vec, "tolist") and hasattr(vec, "ndim"):                # ndarray, tensor
        if vec.ndim != 1:
            fail_value(fn, arg, vec, "a 1-D sequence of integers")
        vec = vec.tolist()
    if isinstance(vec, (str, bytes, dict, set)) or not hasattr(vec, "__iter__"):
        fail_type(fn, arg, vec, "a sequence of integers")
    out = []
    for i, v in enumerate(vec):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        elif isinstance(v, float):
            fail_value(fn, f"{arg}[{i}]", v, "an integer")
        try:
            out.append(operator.index(v))
        except TypeError:
            fail_type(fn, f"{arg}[{i}]", v, "an integer")
    return tuple(out)


# --------------------------------------------------------------------------- the rules

class Rule:
    """One validity rule, written once as a predicate that works on Python ints and on NumPy
    arrays alike (use ``&`` / ``|``, not ``and`` / ``or``):

    * ``"entry"``: ``pred(v_j, j)`` for every position j;
    * ``"pair"``: ``pred(v_{j−1}, v_j)`` for every j ≥ 1;
    * ``"row"``: ``pred(a)`` on a whole ``(N, D)`` array, one verdict per row.

    ``reason(v, j, arg)`` says why the vector ``v`` fails (``j``: the first bad position).
    ``rows(a)`` checks every row of an ``(N, D)`` array at once; ``first_bad(v)`` one tuple.
    """

    def __init__(self, kind: str, pred: Callable, reason: Callable[[Vec, int, str], str]):
        self.kind, self.pred, self.reason = kind, pred, reason

    def rows(self, a: np.ndarray) -> np.ndarray:
        if self.kind == "entry":
            return np.asarray(self.pred(a, np.arange(a.shape[1]))).all(axis=1)
        if self.kind == "pair":
            return np.asarray(self.pred(a[:, :-1], a[:, 1:])).all(axis=1)
        return self.pred(a)

    def first_bad(self, v: Vec) -> Optional[int]:
        """The first position where ``v`` breaks the rule (−1 for a row rule), or None."""
        if self.kind == "entry":
            return next((j for j, x in enumerate(v) if not self.pred(x, j)), None)
        if self.kind == "pair":
            return next((j for j in range(1, len(v)) if not self.pred(v[j - 1], v[j])), None)
        return None if self.pred(np.array([v], dtype=np.int64).reshape(1, len(v)))[0] else -1


def first_problem(rules: Sequence[Rule], v: Vec, arg: str = "vec") -> Optional[str]:
    """None if the int tuple ``v`` passes every rule, else the first failing rule's reason."""
    for rule in rules:
        j = rule.first_bad(v)
        if j is not None:
            return rule.reason(v, j, arg)
    return None


def rows_valid(rules: Sequence[Rule], a: np.ndarray) -> np.ndarray:
    """(N,) bool: the rows of the ``(N, D)`` int64 array ``a`` that pass every rule."""
    ok = np.ones(len(a), dtype=bool)
    for rule in rules:
        ok &= rule.rows(a)
    return ok


def _require(fn: str, arg: str, value, rules: Sequence[Rule]) -> Vec:
    v = int_tuple(value, fn, arg)
    msg = first_problem(rules, v, arg)
    if msg:
        raise ValueError(f"{fn}: {msg} (got {arg}={v})")
    return v


def in_range(lo: int, hi=None) -> Rule:
    """lo ≤ v_j ≤ hi(j) (``hi``: an int, a function of the position j, or None)."""
    top = hi if callable(hi) else (lambda j: hi)
    pred = ((lambda x, j: x >= lo) if hi is None else (lambda x, j: (x >= lo) & (x <= top(j))))
    return Rule("entry", pred, lambda v, j, arg: (
        f"{arg}[{j}]={v[j]} out of range; expected {lo} ≤ {arg}[{j}]"
        + ("" if hi is None else f" ≤ {top(j)}")))


def increasing() -> Rule:
    """Strictly increasing entries."""
    return Rule("pair", lambda prev, x: x > prev, lambda v, j, arg: (
        f"{arg}[{j}]={v[j]} ≤ {arg}[{j - 1}]={v[j - 1]}; "
        "expected strictly increasing entries (no repeats)"))


def decreasing() -> Rule:
    """Weakly decreasing entries (a partition, zero-padded)."""
    return Rule("pair", lambda prev, x: x <= prev, lambda v, j, arg: (
        f"{arg}[{j}]={v[j]} > {arg}[{j - 1}]={v[j - 1]}; expected weakly decreasing parts"))


def at_most_parts(k: int) -> Rule:
    """Zero from position k on: at most ``k`` parts (for a decreasing vector)."""
    return Rule("entry", lambda x, j: (j < k) | (x == 0), lambda v, j, arg: (
        f"{arg}[{j}]={v[j]} is part number {j + 1}; expected at most {k} parts"))


def ends_with(n: int) -> Rule:
    """The last entry is ``n`` (the extended Prüfer code)."""
    return Rule("row", lambda a: a[:, -1] == n, lambda v, j, arg: (
        f"{arg}[{len(v) - 1}]={v[-1]}; the extended Prüfer code always ends with n = {n}"))


def permutation() -> Rule:
    """The entries are 0 … D−1, each once."""
    def reason(v, j, arg):
        repeated = sorted(x for x in set(v) if v.count(x) > 1)
        if repeated:
            return f"{arg} repeats the value {repeated[0]}; expected a permutation of 0..{len(v) - 1}"
        return f"{arg} is not a permutation of 0..{len(v) - 1}"
    return Rule("row", lambda a: (np.sort(a, axis=1) == np.arange(a.shape[1])).all(axis=1), reason)


def rooted_tree() -> Rule:
    """A parent array (p_1, …, p_{n−1}), entries in [n]: every parent chain reaches the root n."""
    def pred(a):
        N, n = a.shape[0], a.shape[1] + 1
        ok = ((a >= 1) & (a <= n)).all(axis=1)
        par = np.concatenate([np.full((N, 1), n), np.where(ok[:, None], a, n),
                              np.full((N, 1), n)], axis=1)
        rows = np.arange(N)[:, None]
        for _ in range(max(1, (n - 1).bit_length())):  # par ← par∘par: 2^k ≥ n steps up
            par = par[rows, par]
        return ok & (par == n).all(axis=1)  # every chain reached the root, unless a cycle

    return Rule("row", pred, lambda v, j, arg: (
        f"{arg} has a cycle: not every parent chain leads to the root {len(v) + 1}"))


def box_partition(max_parts: int, max_part=None) -> List[Rule]:
    """A partition (zero-padded) with at most ``max_parts`` parts, each ≤ ``max_part``."""
    return [in_range(0, max_part), decreasing(), at_most_parts(max_parts)]


def strip_zeros(p: Sequence[int]) -> Vec:
    """Drop the trailing zero parts of a zero-padded partition."""
    p = tuple(p)
    return p[:p.index(0)] if 0 in p else p


def pad_zeros(p: Vec, length: int) -> Vec:
    """A partition with at most ``length`` parts, zero-padded to ``length``."""
    p = strip_zeros(p)
    return p + (0,) * (length - len(p))


# --------------------------------------------------------------------------- subsets ↔ partitions

def subset_to_partition(subset, n: int) -> Vec:
    """k-subset of [n] → partition in a k × (n−k) box (at most k parts, each ≤ n − k).

    With the subset sorted, s_1 < … < s_k, the parts are

        λ_i = s_{k+1−i} − (k+1−i),   i = 1 … k   (zero parts dropped).

    Lattice-path picture: walk j = 1 … n, stepping *up* when j ∈ S and *right* when not;
    s_j − j counts the right-steps before the j-th up-step, and those counts, read from
    the top, are the row lengths of the Young diagram left of the path.

    >>> subset_to_partition((2, 5), n=5)
    (3, 1)
    >>> subset_to_partition((1, 2, 3), n=6)
    ()
    """
    n = check_int("subset_to_partition", "n", n, min=0)
    return _subset_to_partition(_require("subset_to_partition", "subset", subset,
                                         [in_range(1, n), increasing()]))


def _subset_to_partition(s: Vec) -> Vec:
    k = len(s)
    return strip_zeros(tuple(s[k - 1 - i] - (k - i) for i in range(k)))


def partition_to_subset(partition, n: int, k: int) -> Vec:
    """Partition in a k × (n−k) box → k-subset of [n]: s_j = λ_{k+1−j} + j (λ zero-padded).

    The inverse of :func:`subset_to_partition`.

    >>> partition_to_subset((3, 1), n=5, k=2)
    (2, 5)
    >>> partition_to_subset((), n=6, k=3)
    (1, 2, 3)
    """
    fn = "partition_to_subset"
    n = check_int(fn, "n", n, min=0)
    k = check_int(fn, "k", k, min=0, max=n)
    lam = _require(fn, "partition", partition, box_partition(k, n - k))
    return _partition_to_subset(strip_zeros(lam), k)


def _partition_to_subset(lam: Vec, k: int) -> Vec:
    lam = lam + (0,) * (k - len(lam))
    return tuple(lam[k - 1 - j] + j + 1 for j in range(k))


# --------------------------------------------------------------------------- permutations ↔ Lehmer codes

def lehmer_code(perm) -> Vec:
    """Permutation π of {0, …, n−1} → Lehmer code c with c_i = #{j > i : π_j < π_i}.

    Each c_i lies in [0, n−1−i] (so c_{n−1} = 0), and there are n! such codes.

    >>> lehmer_code((2, 0, 1))
    (2, 0, 0)
    >>> lehmer_code((3, 1, 0, 2))
    (3, 1, 0, 0)
    """
    return _lehmer_code(_require("lehmer_code", "perm", perm, [permutation()]))


def _lehmer_code(p: Vec) -> Vec:
    return tuple([len([q for q in p[i + 1:] if q < pi]) for i, pi in enumerate(p)])


def lehmer_rules(n: int) -> List[Rule]:
    """c_i ∈ [0, n−1−i]."""
    return [in_range(0, lambda i: n - 1 - i)]


def lehmer_decode(code) -> Vec:
    """Lehmer code → permutation: π_i is the c_i-th smallest (0-based) value not yet used.

    >>> lehmer_decode((2, 0, 0))
    (2, 0, 1)
    >>> lehmer_decode((0, 0, 0, 7, 0))
    Traceback (most recent call last):
    ...
    ValueError: lehmer_decode: code[3]=7 out of range; expected 0 ≤ code[3] ≤ 1 (got code=(0, 0, 0, 7, 0))
    """
    c = int_tuple(code, "lehmer_decode", "code")
    return _lehmer_decode(_require("lehmer_decode", "code", c, lehmer_rules(len(c))))


def _lehmer_decode(c: Vec) -> Vec:
    free = list(range(len(c)))
    return tuple([free.pop(v) for v in c])


# --------------------------------------------------------------------------- partitions ↔ conjugates

def conjugate(partition) -> Vec:
    """Conjugate (transpose) partition: λ'_j = #{i : λ_i ≥ j}, j = 1 … λ_1.

    It flips the Young diagram along its diagonal, so it maps partitions in an r × c box
    (≤ r parts, each ≤ c) onto partitions in a c × r box, and it is its own inverse.
    Trailing zero parts are accepted and dropped.

    >>> conjugate((3, 1))
    (2, 1, 1)
    >>> conjugate((2, 1, 1))
    (3, 1)
    >>> conjugate(())
    ()
    """
    p = int_tuple(partition, "conjugate", "partition")
    return _conjugate(strip_zeros(_require("conjugate", "partition", p, box_partition(len(p)))))


def _conjugate(lam: Vec) -> Vec:
    out, i = [], len(lam)
    for j in range(1, lam[0] + 1 if lam else 1):
        while lam[i - 1] < j:      # λ is decreasing: #{i : λ_i ≥ j} only shrinks with j
            i -= 1
        out.append(i)
    return tuple(out)


def partitions_in_box(max_parts: int, max_part: int) -> List[Vec]:
    """All partitions with at most ``max_parts`` parts, each ≤ ``max_part``.

    There are C(max_parts + max_part, max_parts) of them (lattice paths in the box).

    >>> partitions_in_box(2, 1)
    [(), (1,), (1, 1)]
    >>> len(partitions_in_box(9, 9))
    48620
    """
    r = check_int("partitions_in_box", "max_parts", max_parts, min=0)
    c = check_int("partitions_in_box", "max_part", max_part, min=0)
    out: List[Vec] = []

    def grow(prefix: Vec, room: int, cap: int) -> None:
        out.append(prefix)
        if room:
            for v in range(1, cap + 1):
                grow(prefix + (v,), room - 1, v)

    grow((), r, c)
    return out


# --------------------------------------------------------------------------- integers ↔ Gray code

def gray_encode(i: int) -> int:
    """Binary reflected Gray code: g = i XOR (i >> 1).

    In bits (most significant first) g_0 = b_0 and g_j = b_j XOR b_{j−1}: each Gray bit
    depends on two neighbouring bits only. Consecutive integers differ in one Gray bit.

    >>> [gray_encode(i) for i in range(8)]
    [0, 1, 3, 2, 6, 7, 5, 4]
    """
    i = check_int("gray_encode", "i", i, min=0)
    return i ^ (i >> 1)


def gray_decode(g: int) -> int:
    """Inverse Gray code: b_j = g_0 XOR g_1 XOR … XOR g_j (bits most significant first).

    Every bit of the answer is the *parity of a whole prefix*, a global function that is
    hard for a smooth network: the "hard" case for the lab's discussion.

    >>> gray_decode(7)
    5
    >>> all(gray_decode(gray_encode(i)) == i for i in range(1024))
    True
    """
    b = check_int("gray_decode", "g", g, min=0)
    shift = b >> 1
    while shift:
        b ^= shift
        shift >>= 1
    return b


def bits(i: int, n: int) -> Vec:
    """The n bits of i, most significant first."""
    return tuple((i >> (n - 1 - j)) & 1 for j in range(n))


def from_bits(bs: Sequence[int]) -> int:
    """The integer with bits ``bs`` (most significant first)."""
    out = 0
    for b in bs:
        out = (out << 1) | b
    return out

