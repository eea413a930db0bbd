"""Combinatorial bijections as data for invertible networks, with honest metrics.

Lab 2 trains a coupling INN to *learn* a bijection φ: A → B between two equinumerous
finite families of combinatorial objects. This module provides

* the families and the exact algorithm in both directions, each pair wrapped in a
  :class:`Bijection` (registry :data:`BIJECTIONS`, lookup :func:`get_bijection`);
* fixed-length integer encodings, x-vectors and y-vectors of the *same* length ``D`` so a
  square INN can map one to the other, and the whole set as float tensors
  (:func:`make_dataset`, optional zero padding ``pad_to``; :func:`train_test_split`);
* honest metrics on rounded model outputs (:func:`exact_match`, :func:`valid_fraction`,
  :func:`injectivity`, :func:`is_bijective`, :func:`evaluate`), and, for the discussion
  only, the dishonest one (:func:`roundtrip_match`).

The registry (:data:`BIJECTIONS`; other sizes via ``get_bijection(name, **params)``)::

    name         x family (domain A)         y family (codomain B)      |A| = |B|            D
    subsets      8-subsets of [16]           partitions in 8×8 box      C(16, 8) = 12870     8
    lehmer       permutations of {0,…,7}     Lehmer codes, c_i ≤ 7−i    8! = 40320           8
    conjugation  partitions in 9×9 box       partitions in 9×9 box      C(18, 9) = 48620     9
    pruefer      labelled trees on [7]       Prüfer sequences in [7]^5  7^(7−2) = 16807      6
    gray         integers 0 … 2^10−1 (bits)  Gray codewords (bits)      2^10 = 1024          10

Conventions: [n] = {1, …, n}; subsets and partitions are tuples (a partition lists its
positive parts, weakly decreasing, ``()`` is the empty one); permutations are tuples of
0 … n−1; trees are sorted tuples of edges ``(u, v)`` with u < v on the vertices [n].

Two pitfalls, from the student project "Learning Bijections" that this lab revisits:

1. **x = f⁻¹(f(x)) is not an accuracy.** An INN is invertible by construction, so the round
   trip succeeds for *any* weights, random ones included. That project reported 89 %
   "accuracy" this way. :func:`roundtrip_match` computes that number only so the lab can
   show it is 1.0 for an untrained network. The accuracy is ``exact_match(f(X), Y)``
   against the *true* images Y = φ(X), best on held-out rows.
2. **The input must not contain the target.** The network sees X (``encode_x``) only; the
   target Y is what it must produce, never something concatenated into its input.

The metrics round the network's float outputs to the nearest integer and read the object
from the first ``D`` coordinates. Padded coordinates (``pad_to > D``) are **ignored** by
every metric: in a padded INN they are free nuisance/latent dimensions.
"""
from __future__ import annotations

import itertools
import math
import operator
from collections import abc
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .data import pad as _data_pad
from torch import nn

__all__ = [
    # the algorithms
    "subset_to_partition", "partition_to_subset", "lehmer_code", "lehmer_decode",
    "conjugate", "partitions_in_box", "pruefer_code", "pruefer_decode",
    "tree_parent_array", "tree_from_parent_array", "gray_encode", "gray_decode",
    # the bijections
    "Bijection", "UnknownBijectionError", "BIJECTIONS", "get_bijection",
    "subsets_bijection", "lehmer_bijection", "conjugation_bijection",
    "pruefer_bijection", "gray_bijection",
    # data
    "make_dataset", "pad", "train_test_split",
    # metrics
    "round_to_int", "exact_match", "valid_fraction", "injectivity", "is_bijective",
    "decode_predictions", "evaluate", "roundtrip_match", "table_predictor",
]


# --------------------------------------------------------------------------- helpers

_INT_ONLY = {int}


def _int_tuple(vec, fn: str, arg: str) -> Tuple[int, ...]:
    """``vec`` (sequence, ndarray or 1-D tensor of integers) as a tuple of Python ints."""
    if type(vec) in (tuple, list) and (not vec or set(map(type, vec)) == _INT_ONLY):  # fast path
        return tuple(vec)
    if isinstance(vec, torch.Tensor):
        if vec.dim() != 1:
            raise ValueError(f"{fn}: {arg} must be 1-D, got a tensor of shape {tuple(vec.shape)}")
        vec = vec.detach().cpu().tolist()
    elif isinstance(vec, np.ndarray):
        if vec.ndim != 1:
            raise ValueError(f"{fn}: {arg} must be 1-D, got an array of shape {vec.shape}")
        vec = vec.tolist()
    if isinstance(vec, (str, bytes)) or not isinstance(vec, abc.Iterable):
        raise ValueError(f"{fn}: {arg}={vec!r} must be a sequence of integers")
    out = []
    for i, v in enumerate(vec):
        if isinstance(v, float):
            if not v.is_integer():
                raise ValueError(f"{fn}: {arg}[{i}]={v!r} is not an integer")
            v = int(v)
        try:
            out.append(operator.index(v))
        except TypeError:
            raise ValueError(f"{fn}: {arg}[{i}]={v!r} is not an integer") from None
    return tuple(out)


def _int_param(value, fn: str, arg: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{fn}: {arg}={value!r} must be an integer ≥ {lo}")
    if value < lo:
        raise ValueError(f"{fn}: {arg}={value} out of range; expected {arg} ≥ {lo}")
    return int(value)


def _partition_problem(p: Tuple[int, ...], arg: str) -> Optional[str]:
    """None if ``p`` (ints) is weakly decreasing and ≥ 0 (trailing zeros allowed)."""
    if not p or (p[-1] >= 0 and list(p) == sorted(p, reverse=True)):   # fast path
        return None
    for i, v in enumerate(p):
        if v < 0:
            return f"{arg}[{i}]={v} is negative; expected parts ≥ 0"
        if i and v > p[i - 1]:
            return (f"{arg}[{i}]={v} > {arg}[{i - 1}]={p[i - 1]}; "
                    "expected weakly decreasing parts")
    return None


def _strip_zeros(p: Sequence[int]) -> Tuple[int, ...]:
    """Drop the zero parts of a weakly decreasing sequence ≥ 0 (they all trail)."""
    p = tuple(p)
    return p[:p.index(0)] if 0 in p else p


def _partition(partition, fn: str, arg: str = "partition") -> Tuple[int, ...]:
    p = _int_tuple(partition, fn, arg)
    msg = _partition_problem(p, arg)
    if msg:
        raise ValueError(f"{fn}: {msg} (got {arg}={p})")
    return _strip_zeros(p)


# --------------------------------------------------------------------------- subsets ↔ partitions

def subset_to_partition(subset, n: int) -> Tuple[int, ...]:
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
    fn = "subset_to_partition"
    n = _int_param(n, fn, "n", 0)
    s = _int_tuple(subset, fn, "subset")
    for j, v in enumerate(s):
        if not 1 <= v <= n:
            raise ValueError(f"{fn}: subset[{j}]={v} out of range; expected 1 ≤ subset[{j}] ≤ {n}")
        if j and v <= s[j - 1]:
            raise ValueError(f"{fn}: subset={s} is not strictly increasing at index {j}; "
                             "expected a sorted subset without repeats")
    return _subset_to_partition(s)


def _subset_to_partition(s: Tuple[int, ...]) -> Tuple[int, ...]:
    k = len(s)
    return _strip_zeros(tuple(s[k - 1 - i] - (k - i) for i in range(k)))


def partition_to_subset(partition, n: int, k: int) -> Tuple[int, ...]:
    """Partition in a k × (n−k) box → k-subset of [n]: s_j = λ_{k+1−j} + j (λ zero-padded).

    The inverse of :func:`subset_to_partition`.

    >>> partition_to_subset((3, 1), n=5, k=2)
    (2, 5)
    >>> partition_to_subset((), n=6, k=3)
    (1, 2, 3)
    """
    fn = "partition_to_subset"
    n = _int_param(n, fn, "n", 0)
    k = _int_param(k, fn, "k", 0)
    if k > n:
        raise ValueError(f"{fn}: k={k} out of range; expected 0 ≤ k ≤ n={n}")
    lam = _partition(partition, fn)
    if len(lam) > k:
        raise ValueError(f"{fn}: partition={lam} has {len(lam)} parts; expected at most k={k}")
    if lam and lam[0] > n - k:
        raise ValueError(f"{fn}: partition[0]={lam[0]} out of range; expected parts ≤ n − k = {n - k}")
    return _partition_to_subset(lam, k)


def _partition_to_subset(lam: Tuple[int, ...], k: int) -> Tuple[int, ...]:
    lam = lam + (0,) * (k - len(lam))
    return tuple(lam[k - 1 - j] + j + 1 for j in range(k))


# --------------------------------------------------------------------------- permutations ↔ Lehmer codes

def lehmer_code(perm) -> Tuple[int, ...]:
    """Permutation π of {0, …, n−1} → Lehmer code c with c_i = #{j > i : π_j < π_i}.

    Each c_i lies in [0, n−1−i] (so c_{n−1} = 0), and there are n! such codes.

    >>> lehmer_code((2, 0, 1))
    (2, 0, 0)
    >>> lehmer_code((3, 1, 0, 2))
    (3, 1, 0, 0)
    """
    fn = "lehmer_code"
    p = _int_tuple(perm, fn, "perm")
    n = len(p)
    seen = [False] * n
    for i, v in enumerate(p):
        if not 0 <= v < n:
            raise ValueError(f"{fn}: perm[{i}]={v} out of range; expected 0 ≤ perm[{i}] ≤ {n - 1}")
        if seen[v]:
            raise ValueError(f"{fn}: perm={p} repeats the value {v}; "
                             f"expected a permutation of 0..{n - 1}")
        seen[v] = True
    return _lehmer_code(p)


def _lehmer_code(p: Tuple[int, ...]) -> Tuple[int, ...]:
    return tuple([len([q for q in p[i + 1:] if q < pi]) for i, pi in enumerate(p)])


def lehmer_decode(code) -> Tuple[int, ...]:
    """Lehmer code → permutation: π_i is the c_i-th smallest (0-based) value not yet used.

    >>> lehmer_decode((2, 0, 0))
    (2, 0, 1)
    >>> lehmer_decode((0, 0, 0, 7, 0))
    Traceback (most recent call last):
    ...
    ValueError: lehmer_decode: code[3]=7 out of range; expected 0 ≤ code[3] ≤ 1
    """
    fn = "lehmer_decode"
    c = _int_tuple(code, fn, "code")
    n = len(c)
    for i, v in enumerate(c):
        if not 0 <= v <= n - 1 - i:
            raise ValueError(f"{fn}: code[{i}]={v} out of range; expected 0 ≤ code[{i}] ≤ {n - 1 - i}")
    return _lehmer_decode(c)


def _lehmer_decode(c: Tuple[int, ...]) -> Tuple[int, ...]:
    free = list(range(len(c)))
    return tuple([free.pop(v) for v in c])


# --------------------------------------------------------------------------- partitions ↔ conjugates

def conjugate(partition) -> Tuple[int, ...]:
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
    return _conjugate(_partition(partition, "conjugate"))


def _conjugate(lam: Tuple[int, ...]) -> Tuple[int, ...]:
    out, i = [], len(lam)
    for j in range(1, lam[0] + 1 if lam else 1):
        while lam[i - 1] < j:      # λ is decreasing: #{i : λ_i ≥ j} only shrinks with j
            i -= 1
        out.append(i)
    return tuple(out)


def partitions_in_box(max_parts: int, max_part: int) -> List[Tuple[int, ...]]:
    """All partitions with at most ``max_parts`` parts, each ≤ ``max_part``.

    There are C(max_parts + max_part, max_parts) of them (lattice paths in the box).

    >>> partitions_in_box(2, 1)
    [(), (1,), (1, 1)]
    >>> len(partitions_in_box(9, 9))
    48620
    """
    r = _int_param(max_parts, "partitions_in_box", "max_parts", 0)
    c = _int_param(max_part, "partitions_in_box", "max_part", 0)
    out: List[Tuple[int, ...]] = []

    def grow(prefix: Tuple[int, ...], room: int, cap: int) -> None:
        out.append(prefix)
        if room:
            for v in range(1, cap + 1):
                grow(prefix + (v,), room - 1, v)

    grow((), r, c)
    return out


# --------------------------------------------------------------------------- trees ↔ Prüfer sequences

def _tree_problem(edges: Tuple[Tuple[int, int], ...], n: int) -> Optional[str]:
    """None if ``edges`` (pairs of ints) form a tree on the vertices [n]."""
    if len(edges) != n - 1:
        return f"a tree on {n} vertices has {n - 1} edges, got {len(edges)}"
    root = list(range(n + 1))

    def find(a: int) -> int:
        while root[a] != a:
            root[a] = root[root[a]]
            a = root[a]
        return a

    for e, (u, v) in enumerate(edges):
        for w in (u, v):
            if not 1 <= w <= n:
                return f"edge {e} = {(u, v)} has vertex {w}; expected vertices 1..{n}"
        ru, rv = find(u), find(v)
        if ru == rv:
            return f"edge {e} = {(u, v)} closes a cycle (or is a loop / repeated edge)"
        root[ru] = rv
    return None  # n − 1 edges and no cycle on n vertices: a spanning tree


def _edges(edges, fn: str) -> Tuple[Tuple[int, int], ...]:
    if (type(edges) is tuple and set(map(type, edges)) <= _TUPLE_ONLY      # fast path
            and set(map(len, edges)) <= _TWO_ONLY
            and set(map(type, itertools.chain.from_iterable(edges))) <= _INT_ONLY):
        return edges
    if isinstance(edges, (torch.Tensor, np.ndarray)):
        edges = edges.tolist()
    try:
        pairs = [tuple(e) for e in edges]
    except TypeError:
        raise ValueError(f"{fn}: edges={edges!r} must be a sequence of (u, v) pairs") from None
    out = []
    for i, e in enumerate(pairs):
        if len(e) != 2:
            raise ValueError(f"{fn}: edges[{i}]={e!r} must be a pair (u, v)")
        out.append(_int_tuple(e, fn, f"edges[{i}]"))
    return tuple(out)


_TUPLE_ONLY, _TWO_ONLY = {tuple}, {2}


def _canonical_tree(edges) -> Tuple[Tuple[int, int], ...]:
    return tuple(sorted((min(u, v), max(u, v)) for u, v in edges))


def _tree(edges, fn: str) -> Tuple[Tuple[Tuple[int, int], ...], int]:
    """Validated edges of a tree and its number of vertices n = #edges + 1 ≥ 2."""
    es = _edges(edges, fn)
    n = len(es) + 1
    if n < 2:
        raise ValueError(f"{fn}: edges is empty; expected a tree on n ≥ 2 vertices (n − 1 ≥ 1 edges)")
    msg = _tree_problem(es, n)
    if msg:
        raise ValueError(f"{fn}: edges={es} is not a tree on [{n}]: {msg}")
    return es, n


def _leaf_removal(es, n: int) -> List[Tuple[int, int]]:
    """Remove the smallest leaf n − 1 times; the (leaf, neighbour) pairs, in order.

    Linear time: each vertex keeps its degree and the XOR of its neighbours' labels, so a
    leaf's only neighbour is that XOR. Vertex n is never the smallest of the ≥ 2 leaves,
    so it is never removed: each removed leaf's neighbour is its parent towards n.
    """
    deg, nbr_xor = [0] * (n + 1), [0] * (n + 1)
    for u, v in es:
        deg[u] += 1
        deg[v] += 1
        nbr_xor[u] ^= v
        nbr_xor[v] ^= u
    steps = []
    ptr = 1
    while deg[ptr] != 1:
        ptr += 1
    leaf = ptr
    for _ in range(n - 1):
        nb = nbr_xor[leaf]
        steps.append((leaf, nb))
        deg[leaf] = 0
        deg[nb] -= 1
        nbr_xor[nb] ^= leaf
        if deg[nb] == 1 and nb < ptr:   # the neighbour became the smallest leaf
            leaf = nb
        else:
            ptr += 1
            while ptr <= n and deg[ptr] != 1:
                ptr += 1
            leaf = ptr
    return steps


def pruefer_code(edges) -> Tuple[int, ...]:
    """Labelled tree on [n] (n ≥ 2, given by its n − 1 edges) → Prüfer sequence in [n]^(n−2).

    Algorithm: n − 2 times, remove the smallest leaf and write down its neighbour.
    (Vertex n is never the smallest leaf, so one more step would always write n.)

    >>> pruefer_code([(1, 4), (2, 4), (3, 4), (4, 5), (5, 6)])
    (4, 4, 4, 5)
    >>> pruefer_code([(1, 2)])
    ()
    """
    es, n = _tree(edges, "pruefer_code")
    return _pruefer_code(es, n)


def _pruefer_code(es, n: int) -> Tuple[int, ...]:
    return tuple([nb for _, nb in _leaf_removal(es, n)[:n - 2]])


def pruefer_decode(seq) -> Tuple[Tuple[int, int], ...]:
    """Prüfer sequence in [n]^(n−2) → labelled tree on [n], as sorted edges (u < v).

    Algorithm: deg(v) = 1 + (times v occurs); for each entry a, join a to the smallest
    vertex of degree 1 and lower both degrees; finally join the last such vertex to n.

    >>> pruefer_decode((4, 4, 4, 5))
    ((1, 4), (2, 4), (3, 4), (4, 5), (5, 6))
    """
    fn = "pruefer_decode"
    s = _int_tuple(seq, fn, "seq")
    n = len(s) + 2
    for i, a in enumerate(s):
        if not 1 <= a <= n:
            raise ValueError(f"{fn}: seq[{i}]={a} out of range; expected 1 ≤ seq[{i}] ≤ {n} "
                             f"(a sequence of length {len(s)} codes trees on {n} vertices)")
    return _pruefer_decode(s)


def _pruefer_decode(s: Tuple[int, ...]) -> Tuple[Tuple[int, int], ...]:
    n = len(s) + 2
    deg = [0] + [1] * n
    for a in s:
        deg[a] += 1
    edges = []
    ptr = 1
    while deg[ptr] != 1:
        ptr += 1
    leaf = ptr
    for a in s:                         # linear time, as in _leaf_removal
        edges.append((leaf, a))
        deg[leaf] = 0
        deg[a] -= 1
        if deg[a] == 1 and a < ptr:
            leaf = a
        else:
            ptr += 1
            while deg[ptr] != 1:
                ptr += 1
            leaf = ptr
    edges.append((leaf, n))
    return _canonical_tree(edges)


def tree_parent_array(edges) -> Tuple[int, ...]:
    """Tree on [n] → parent array (p_1, …, p_{n−1}) of the tree rooted at vertex n.

    p_v is the neighbour of v on the path from v to n; a fixed-length encoding of trees.
    (The Prüfer leaf removal run n − 1 times writes exactly p_leaf at each step.)

    >>> tree_parent_array([(1, 4), (2, 4), (3, 4), (4, 5), (5, 6)])
    (4, 4, 4, 5, 6)
    """
    es, n = _tree(edges, "tree_parent_array")
    parent = [0] * (n + 1)
    for leaf, nb in _leaf_removal(es, n):
        parent[leaf] = nb
    return tuple(parent[1:n])


def _parent_array_problem(par: Tuple[int, ...]) -> Optional[str]:
    n = len(par) + 1
    for i, p in enumerate(par):
        if not 1 <= p <= n:
            return f"parents[{i}]={p} out of range; expected 1 ≤ parents[{i}] ≤ {n}"
        if p == i + 1:
            return f"parents[{i}]={p}: vertex {i + 1} is its own parent"
    reaches_root = [False] * (n + 1)
    reaches_root[n] = True
    for v in range(1, n):
        path, u = [], v
        while not reaches_root[u]:
            if u in path:
                return f"vertices {sorted(path)} form a cycle; every vertex must lead to the root {n}"
            path.append(u)
            u = par[u - 1]
        for w in path:
            reaches_root[w] = True
    return None


def tree_from_parent_array(parents) -> Tuple[Tuple[int, int], ...]:
    """Parent array rooted at n (see :func:`tree_parent_array`) → tree as sorted edges.

    >>> tree_from_parent_array((4, 4, 4, 5, 6))
    ((1, 4), (2, 4), (3, 4), (4, 5), (5, 6))
    """
    fn = "tree_from_parent_array"
    par = _int_tuple(parents, fn, "parents")
    msg = _parent_array_problem(par)
    if msg:
        raise ValueError(f"{fn}: parents={par} is not a tree rooted at {len(par) + 1}: {msg}")
    return _tree_from_parents(par)


def _tree_from_parents(par: Tuple[int, ...]) -> Tuple[Tuple[int, int], ...]:
    return _canonical_tree((v, p) for v, p in enumerate(par, start=1))


# --------------------------------------------------------------------------- integers ↔ Gray code

def _nonneg_int(i, fn: str, arg: str) -> int:
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
        raise ValueError(f"{fn}: {arg}={i!r} must be a non-negative integer")
    if i < 0:
        raise ValueError(f"{fn}: {arg}={i} is negative; expected {arg} ≥ 0")
    return int(i)


def gray_encode(i: int) -> int:
    """Binary reflected Gray code: g = i XOR (i >> 1).

    In bits (most significant first) g_0 = b_0 and g_j = b_j XOR b_{j−1}: each Gray bit
    depends on two neighbouring bits only. Consecutive integers differ in one Gray bit.

    >>> [gray_encode(i) for i in range(8)]
    [0, 1, 3, 2, 6, 7, 5, 4]
    """
    i = _nonneg_int(i, "gray_encode", "i")
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
    g = _nonneg_int(g, "gray_decode", "g")
    b, shift = g, g >> 1
    while shift:
        b ^= shift
        shift >>= 1
    return b


def _bits(i: int, n: int) -> Tuple[int, ...]:
    return tuple((i >> (n - 1 - j)) & 1 for j in range(n))


def _from_bits(bits: Sequence[int]) -> int:
    out = 0
    for b in bits:
        out = (out << 1) | b
    return out


# --------------------------------------------------------------------------- the Bijection object

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

    Methods (objects ↔ vectors; bad input raises ValueError):
        ``enumerate_domain()`` → tuple of all of A; ``enumerate_codomain()`` → all of B,
        enumerated independently of φ (so that tests of φ mean something);
        ``forward(x)`` = φ(x); ``inverse(y)`` = φ⁻¹(y);
        ``encode_x(x)`` / ``decode_x(vec)``, ``encode_y(y)`` / ``decode_y(vec)``;
        ``is_valid_x(vec)`` / ``is_valid_y(vec)`` → bool, never raises;
        ``valid_rows(rows, side)`` → the same for each row of an (N, D) integer array
        (vectorized; what the metrics use).

    Constructing one (see the factories such as :func:`lehmer_bijection`): ``check_x(vec)``
    returns None for a valid x-vector (a tuple of D ints) or the reason it is not;
    ``encode_x(obj)`` → vector may raise ValueError; ``decode_x(vec)`` and ``forward(obj)``
    are *unchecked* cores that only ever receive validated, canonical input (the public
    methods validate once). Likewise for the y side and ``inverse``.

    >>> b = get_bijection("lehmer")
    >>> b.forward((2, 0, 1, 3, 4, 5, 6, 7)), b.dim, b.cardinality
    ((2, 0, 0, 0, 0, 0, 0, 0), 8, 40320)
    >>> b.is_valid_y((7, 7, 0, 0, 0, 0, 0, 0))
    False
    """

    def __init__(self, *, name: str, x_family: str, y_family: str, cardinality: int,
                 formula: str, dim: int, params: dict,
                 enum_x: Callable[[], Iterable], enum_y: Callable[[], Iterable],
                 forward: Callable, inverse: Callable,
                 encode_x: Callable, decode_x: Callable, check_x: Callable,
                 encode_y: Callable, decode_y: Callable, check_y: Callable,
                 check_x_batch: Optional[Callable] = None, check_y_batch: Optional[Callable] = None):
        self.name, self.x_family, self.y_family = name, x_family, y_family
        self.cardinality, self.formula, self.dim = int(cardinality), formula, int(dim)
        self.params = dict(params)
        self._enum = {"x": enum_x, "y": enum_y}
        # forward/inverse/decode_* are unchecked cores: they get canonical, validated input
        self._map = {"x": forward, "y": inverse}          # keyed by the side of the argument
        self._enc = {"x": encode_x, "y": encode_y}
        self._dec = {"x": decode_x, "y": decode_y}
        self._check = {"x": check_x, "y": check_y}        # vec (tuple of ints) -> None | reason
        self._check_batch = {"x": check_x_batch, "y": check_y_batch}  # (N, D) int64 -> (N,) bool
        self._cache: dict = {}

    def __repr__(self) -> str:
        return (f"Bijection({self.name!r}: {self.x_family} → {self.y_family}, "
                f"|A| = |B| = {self.formula}, D = {self.dim})")

    # -- whole families
    def _enumerate(self, side: str) -> tuple:
        key = ("enum", side)
        if key not in self._cache:
            self._cache[key] = tuple(self._enum[side]())
        return self._cache[key]

    def enumerate_domain(self) -> tuple:
        """Every member of A, in a fixed order (the row order of :func:`make_dataset`)."""
        return self._enumerate("x")

    def enumerate_codomain(self) -> tuple:
        """Every member of B, enumerated directly (not as images under φ)."""
        return self._enumerate("y")

    # -- validation
    def _family(self, side: str) -> str:
        return self.x_family if side == "x" else self.y_family

    def _problem(self, side: str, vec) -> Optional[str]:
        try:
            v = _int_tuple(vec, "", "vec")
        except ValueError as e:
            return str(e).lstrip(": ")
        if len(v) != self.dim:
            return f"length {len(v)}; expected D = {self.dim}"
        return self._check[side](v)

    def _require_obj(self, side: str, obj, fn: str) -> Tuple[int, ...]:
        """Encode ``obj`` (raw) and check it is a member of the family; returns the vector."""
        try:
            vec = self._enc[side](obj)
        except (TypeError, ValueError, IndexError, KeyError) as e:
            raise ValueError(f"{self.name}.{fn}: {obj!r} is not a member of "
                             f"{self._family(side)}: {e}") from None
        msg = (self._check[side](vec) if len(vec) == self.dim
               else f"encodes to length {len(vec)}; expected D = {self.dim}")
        if msg:
            raise ValueError(f"{self.name}.{fn}: {obj!r} is not a member of "
                             f"{self._family(side)}: {msg}")
        return vec

    def is_valid_x(self, vec) -> bool:
        """True iff ``vec`` (D integers) encodes a member of A."""
        return self._problem("x", vec) is None

    def is_valid_y(self, vec) -> bool:
        """True iff ``vec`` (D integers) encodes a member of B."""
        return self._problem("y", vec) is None

    def valid_rows(self, rows, side: str = "y") -> np.ndarray:
        """Row-wise is_valid_y (side "y") or is_valid_x (side "x") of an (N, D) integer array.

        Vectorized with NumPy where the family provides it, so metrics stay fast on the
        whole set; the result always equals ``[is_valid_<side>(r) for r in rows]``.
        """
        side = _side(side, f"{self.name}.valid_rows")
        a = np.asarray(rows.numpy() if isinstance(rows, torch.Tensor) else rows)
        if a.ndim != 2 or a.shape[1] != self.dim or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{self.name}.valid_rows: rows must be an integer array (N, {self.dim}), "
                             f"got {a.dtype} {a.shape}")
        a = a.astype(np.int64, copy=False)
        batch = self._check_batch[side]
        if batch is not None:
            return np.asarray(batch(a), dtype=bool).reshape(len(a))
        check = self._check[side]
        return np.array([check(tuple(r)) is None for r in a.tolist()], dtype=bool)

    # -- the maps
    def forward(self, x):
        """φ(x) for x ∈ A (ValueError if x ∉ A)."""
        return self._map["x"](self._dec["x"](self._require_obj("x", x, "forward")))

    def inverse(self, y):
        """φ⁻¹(y) for y ∈ B (ValueError if y ∉ B)."""
        return self._map["y"](self._dec["y"](self._require_obj("y", y, "inverse")))

    # -- encodings
    def encode_x(self, x) -> Tuple[int, ...]:
        """x ∈ A → tuple of D ints."""
        return self._require_obj("x", x, "encode_x")

    def encode_y(self, y) -> Tuple[int, ...]:
        """y ∈ B → tuple of D ints."""
        return self._require_obj("y", y, "encode_y")

    def _decode(self, side: str, vec, fn: str):
        msg = self._problem(side, vec)
        if msg:
            raise ValueError(f"{self.name}.{fn}: vec={vec!r} does not encode a member of "
                             f"{self._family(side)}: {msg}")
        return self._dec[side](_int_tuple(vec, fn, "vec"))

    def decode_x(self, vec):
        """D ints → member of A (ValueError if ``vec`` encodes none)."""
        return self._decode("x", vec, "decode_x")

    def decode_y(self, vec):
        """D ints → member of B (ValueError if ``vec`` encodes none)."""
        return self._decode("y", vec, "decode_y")

    # -- the whole set, encoded (cached)
    def _encoded(self) -> Tuple[np.ndarray, np.ndarray]:
        if "encoded" not in self._cache:
            xs = self.enumerate_domain()
            X = np.array([self.encode_x(x) for x in xs], dtype=np.int64).reshape(len(xs), self.dim)
            fwd, dec, enc = self._map["x"], self._dec["x"], self._enc["y"]
            Y = np.array([enc(fwd(dec(v))) for v in X.tolist()],
                         dtype=np.int64).reshape(len(xs), self.dim)
            self._cache["encoded"] = (X, Y)
        return self._cache["encoded"]


# --------------------------------------------------------------------------- the five families

def _pad_vec(p: Sequence[int], length: int) -> Tuple[int, ...]:
    """Zero-pad a partition to ``length`` (trailing zeros of the input are dropped first)."""
    p = tuple(p)
    while p and p[-1] == 0:
        p = p[:-1]
    if len(p) > length:
        raise ValueError(f"{tuple(p)} has {len(p)} parts; expected at most {length}")
    return tuple(p) + (0,) * (length - len(p))


def _box_partition_problem(v: Tuple[int, ...], max_parts: int, max_part: int) -> Optional[str]:
    msg = _partition_problem(v, "vec")
    if msg:
        return msg
    if v and v[0] > max_part:
        return f"vec[0]={v[0]} out of range; expected parts ≤ {max_part}"
    if len(_strip_zeros(v)) > max_parts:
        return f"{len(_strip_zeros(v))} nonzero parts; expected at most {max_parts}"
    return None


def _box_partition_rows(a: np.ndarray, max_parts: int, max_part: int) -> np.ndarray:
    """Vectorized :func:`_box_partition_problem` is None, rows of an (N, D) int array."""
    return ((a >= 0).all(1) & (np.diff(a, axis=1) <= 0).all(1)
            & (a[:, 0] <= max_part) & ((a > 0).sum(1) <= max_parts))


def _parent_array_rows(a: np.ndarray) -> np.ndarray:
    """Vectorized :func:`_parent_array_problem` is None: rows that are trees rooted at n."""
    N, n = a.shape[0], a.shape[1] + 1
    ok = ((a >= 1) & (a <= n)).all(1) & (a != np.arange(1, n)).all(1)
    # parent table indexed by vertex 0..n (0 unused, n is its own parent); bad rows → all n
    par = np.concatenate([np.full((N, 1), n), a, np.full((N, 1), n)], axis=1)
    par = np.where(ok[:, None], par, n)
    cur = np.tile(np.arange(n + 1), (N, 1))
    for _ in range(n):                       # follow parents: n steps reach the root unless a cycle
        cur = np.take_along_axis(par, cur, axis=1)
    return ok & (cur == n).all(1)


def subsets_bijection(n: int = 16, k: int = 8) -> Bijection:
    """k-subsets of [n] ↔ partitions in a k × (n−k) box; |·| = C(n, k); D = k.

    x-vector: the sorted subset (values 1 … n). y-vector: the parts padded with zeros to
    length k. Maps: :func:`subset_to_partition` / :func:`partition_to_subset`.
    """
    fn = "subsets_bijection"
    n = _int_param(n, fn, "n", 1)
    k = _int_param(k, fn, "k", 1)
    if k > n:
        raise ValueError(f"{fn}: k={k} out of range; expected 1 ≤ k ≤ n={n}")

    def check_x(v):
        for j, s in enumerate(v):
            if not 1 <= s <= n:
                return f"vec[{j}]={s} out of range; expected 1 ≤ vec[{j}] ≤ {n}"
            if j and s <= v[j - 1]:
                return f"vec[{j}]={s} ≤ vec[{j - 1}]={v[j - 1]}; expected strictly increasing"
        return None

    return Bijection(
        name="subsets", x_family=f"{k}-subsets of [{n}]",
        y_family=f"partitions in the {k}×{n - k} box",
        cardinality=math.comb(n, k), formula=f"C({n}, {k}) = {math.comb(n, k)}", dim=k,
        params={"n": n, "k": k},
        enum_x=lambda: itertools.combinations(range(1, n + 1), k),
        enum_y=lambda: partitions_in_box(k, n - k),
        forward=_subset_to_partition, inverse=lambda lam: _partition_to_subset(lam, k),
        encode_x=lambda s: _int_tuple(s, "encode_x", "subset"),
        decode_x=tuple, check_x=check_x,
        encode_y=lambda lam: _pad_vec(_int_tuple(lam, "encode_y", "partition"), k),
        decode_y=_strip_zeros, check_y=lambda v: _box_partition_problem(v, k, n - k),
        check_x_batch=lambda a: ((a >= 1) & (a <= n)).all(1) & (np.diff(a, axis=1) > 0).all(1),
        check_y_batch=lambda a: _box_partition_rows(a, k, n - k),
    )


def lehmer_bijection(n: int = 8) -> Bijection:
    """Permutations of {0, …, n−1} ↔ Lehmer codes; |·| = n!; D = n.

    x-vector: the permutation in one-line notation. y-vector: the code (c_{n−1} = 0 always).
    Maps: :func:`lehmer_code` / :func:`lehmer_decode`.
    """
    n = _int_param(n, "lehmer_bijection", "n", 1)

    def check_x(v):
        if sorted(v) != list(range(n)):
            return f"{v} is not a permutation of 0..{n - 1}"
        return None

    def check_y(v):
        for i, c in enumerate(v):
            if not 0 <= c <= n - 1 - i:
                return f"vec[{i}]={c} out of range; expected 0 ≤ vec[{i}] ≤ {n - 1 - i}"
        return None

    return Bijection(
        name="lehmer", x_family=f"permutations of {{0,…,{n - 1}}}",
        y_family=f"Lehmer codes of length {n}",
        cardinality=math.factorial(n), formula=f"{n}! = {math.factorial(n)}", dim=n,
        params={"n": n},
        enum_x=lambda: itertools.permutations(range(n)),
        enum_y=lambda: itertools.product(*(range(n - i) for i in range(n))),
        forward=_lehmer_code, inverse=_lehmer_decode,
        encode_x=lambda p: _int_tuple(p, "encode_x", "perm"), decode_x=tuple, check_x=check_x,
        encode_y=lambda c: _int_tuple(c, "encode_y", "code"), decode_y=tuple, check_y=check_y,
        check_x_batch=lambda a: (np.sort(a, axis=1) == np.arange(n)).all(1),
        check_y_batch=lambda a: ((a >= 0) & (a <= n - 1 - np.arange(n))).all(1),
    )


def conjugation_bijection(rows: int = 9, cols: int = 9) -> Bijection:
    """Partitions in a rows × cols box ↔ their conjugates (in a cols × rows box).

    |·| = C(rows + cols, rows); D = max(rows, cols); both vectors are the parts padded
    with zeros to length D. Map: :func:`conjugate` (an involution) both ways.
    """
    fn = "conjugation_bijection"
    r = _int_param(rows, fn, "rows", 1)
    c = _int_param(cols, fn, "cols", 1)
    d = max(r, c)
    card = math.comb(r + c, r)
    return Bijection(
        name="conjugation", x_family=f"partitions in the {r}×{c} box",
        y_family=f"partitions in the {c}×{r} box",
        cardinality=card, formula=f"C({r + c}, {r}) = {card}", dim=d, params={"rows": r, "cols": c},
        enum_x=lambda: partitions_in_box(r, c), enum_y=lambda: partitions_in_box(c, r),
        forward=_conjugate, inverse=_conjugate,
        encode_x=lambda lam: _pad_vec(_int_tuple(lam, "encode_x", "partition"), d),
        decode_x=_strip_zeros, check_x=lambda v: _box_partition_problem(v, r, c),
        encode_y=lambda lam: _pad_vec(_int_tuple(lam, "encode_y", "partition"), d),
        decode_y=_strip_zeros, check_y=lambda v: _box_partition_problem(v, c, r),
        check_x_batch=lambda a: _box_partition_rows(a, r, c),
        check_y_batch=lambda a: _box_partition_rows(a, c, r),
    )


def _enumerate_trees(n: int):
    """Spanning trees of K_n: (n−1)-subsets of its edges without a cycle (sorted edges)."""
    all_edges = list(itertools.combinations(range(1, n + 1), 2))
    for es in itertools.combinations(all_edges, n - 1):
        if _tree_problem(es, n) is None:
            yield es


def pruefer_bijection(n: int = 7) -> Bijection:
    """Labelled trees on [n] ↔ Prüfer sequences in [n]^(n−2); |·| = n^(n−2) (Cayley); D = n − 1.

    x-vector: the parent array (p_1, …, p_{n−1}) of the tree rooted at n
    (:func:`tree_parent_array`). y-vector: the Prüfer sequence followed by n, i.e. the
    *extended* code that runs the leaf removal one step further (that step always writes
    n, see :func:`pruefer_code`), so both sides have length n − 1; ``is_valid_y`` demands
    the last entry be n. Maps: :func:`pruefer_code` / :func:`pruefer_decode`.
    """
    n = _int_param(n, "pruefer_bijection", "n", 2)

    def check_x(v):
        return _parent_array_problem(v)

    def check_y(v):
        for i, a in enumerate(v):
            if not 1 <= a <= n:
                return f"vec[{i}]={a} out of range; expected 1 ≤ vec[{i}] ≤ {n}"
        if v[-1] != n:
            return f"vec[{n - 2}]={v[-1]}; the extended Prüfer code always ends with n = {n}"
        return None

    def encode_y(seq):
        s = _int_tuple(seq, "encode_y", "seq")
        if len(s) != n - 2:
            raise ValueError(f"length {len(s)}; expected a Prüfer sequence of length n − 2 = {n - 2}")
        return s + (n,)

    def encode_x(edges):
        par = tree_parent_array(edges)
        if len(par) != n - 1:
            raise ValueError(f"{len(par)} edges; expected n − 1 = {n - 1}")
        return par

    card = n ** (n - 2)
    return Bijection(
        name="pruefer", x_family=f"labelled trees on [{n}]",
        y_family=f"Prüfer sequences in [{n}]^{n - 2}",
        cardinality=card, formula=f"{n}^({n}−2) = {card}", dim=n - 1, params={"n": n},
        enum_x=lambda: _enumerate_trees(n),
        enum_y=lambda: itertools.product(range(1, n + 1), repeat=n - 2),
        forward=lambda es: _pruefer_code(es, n), inverse=_pruefer_decode,
        encode_x=encode_x, decode_x=_tree_from_parents, check_x=check_x,
        encode_y=encode_y, decode_y=lambda v: tuple(v[:-1]), check_y=check_y,
        check_x_batch=_parent_array_rows,
        check_y_batch=lambda a: ((a >= 1) & (a <= n)).all(1) & (a[:, -1] == n),
    )


def gray_bijection(n_bits: int = 10) -> Bijection:
    """Integers 0 … 2^n − 1 ↔ their n-bit Gray codewords; |·| = 2^n; D = n.

    Both vectors are the n bits, most significant first, so *every* 0/1 vector is valid on
    both sides: validity is free here and "bijective" reduces to "injective". The forward
    map is local (g_j = b_j XOR b_{j−1}), the inverse is a prefix parity: the hard case.
    Maps: :func:`gray_encode` / :func:`gray_decode`.
    """
    n = _int_param(n_bits, "gray_bijection", "n_bits", 1)

    def check(v):
        for j, b in enumerate(v):
            if b not in (0, 1):
                return f"vec[{j}]={b}; expected a bit (0 or 1)"
        return None

    def encode(i):
        i = _nonneg_int(i, "encode", "i")
        if i >= 2 ** n:
            raise ValueError(f"{i} out of range; expected 0 ≤ i < 2^{n} = {2 ** n}")
        return _bits(i, n)

    return Bijection(
        name="gray", x_family=f"integers 0…{2 ** n - 1} ({n} bits)",
        y_family=f"{n}-bit Gray codewords",
        cardinality=2 ** n, formula=f"2^{n} = {2 ** n}", dim=n, params={"n_bits": n},
        enum_x=lambda: range(2 ** n), enum_y=lambda: range(2 ** n),
        forward=gray_encode, inverse=gray_decode,
        encode_x=encode, decode_x=_from_bits, check_x=check,
        encode_y=encode, decode_y=_from_bits, check_y=check,
        check_x_batch=lambda a: ((a == 0) | (a == 1)).all(1),
        check_y_batch=lambda a: ((a == 0) | (a == 1)).all(1),
    )


_FACTORIES: Dict[str, Callable[..., Bijection]] = {
    "subsets": subsets_bijection,
    "lehmer": lehmer_bijection,
    "conjugation": conjugation_bijection,
    "pruefer": pruefer_bijection,
    "gray": gray_bijection,
}

#: The lab's default instances, by name (see the table in the module docstring).
BIJECTIONS: Dict[str, Bijection] = {name: make() for name, make in _FACTORIES.items()}


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
    invlab.bijections.UnknownBijectionError: get_bijection: name='permutations' is not a known bijection; expected one of 'subsets', 'lehmer', 'conjugation', 'pruefer', 'gray'
    """
    if isinstance(name, Bijection):
        if params:
            raise ValueError("get_bijection: params are only allowed with a name, not a Bijection")
        return name
    if name not in _FACTORIES:
        valid = ", ".join(repr(k) for k in _FACTORIES)
        raise UnknownBijectionError(
            f"get_bijection: name={name!r} is not a known bijection; expected one of {valid}")
    return _FACTORIES[name](**params) if params else BIJECTIONS[name]


def _as_bijection(bij, fn: str) -> Bijection:
    if isinstance(bij, Bijection):
        return bij
    if isinstance(bij, str):
        return get_bijection(bij)
    raise ValueError(f"{fn}: bij={bij!r} must be a Bijection or one of {sorted(_FACTORIES)}")


# --------------------------------------------------------------------------- data

def pad(t: torch.Tensor, pad_to: Optional[int]) -> torch.Tensor:
    """Append zero columns so that ``t: (N, D)`` has ``pad_to`` columns (see :func:`invlab.data.pad`)."""
    return _data_pad(t, pad_to)


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
    bij = _as_bijection(bij, "make_dataset")
    if pad_to is not None and (isinstance(pad_to, bool) or not isinstance(pad_to, (int, np.integer))
                               or pad_to < bij.dim):
        raise ValueError(f"make_dataset: pad_to={pad_to!r} is smaller than the encoding dimension "
                         f"D={bij.dim} of {bij.name!r} (or not an integer); expected an integer "
                         f"pad_to ≥ {bij.dim}, or None")
    Xi, Yi = bij._encoded()
    X = torch.tensor(Xi, dtype=dtype)
    Y = torch.tensor(Yi, dtype=dtype)
    return pad(X, pad_to), pad(Y, pad_to)


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
    N = _int_param(N, fn, "N", 2)
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise ValueError(f"{fn}: frac={frac!r} out of range; expected 0 < frac < 1")
    n_train = int(round(frac * N))
    if not 0 < n_train < N:
        raise ValueError(f"{fn}: frac={frac} of N={N} gives {n_train} training rows; "
                         "expected both parts non-empty")
    g = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(N, generator=g)
    return perm[:n_train].sort().values, perm[n_train:].sort().values


# --------------------------------------------------------------------------- metrics

_INVALID = -1  # stands in for non-finite outputs: no family uses negative numbers


def round_to_int(pred: torch.Tensor, dim: Optional[int] = None) -> torch.Tensor:
    """Round float outputs to the nearest integer (ties to even) and keep ``dim`` columns.

    Args:
        pred: (N, D') float tensor, original integer units.
        dim: how many leading columns carry the encoding (None: all). Later columns,
            i.e. padding, are dropped.

    Returns:
        (N, dim) int64 tensor; NaN/inf entries become −1, which is invalid in every family.

    >>> round_to_int(torch.tensor([[0.4, 1.6, 9.0], [float('nan'), -0.2, 3.0]]), dim=2)
    tensor([[ 0,  2],
            [-1,  0]])
    """
    if not isinstance(pred, torch.Tensor) or pred.dim() != 2:
        shape = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
        raise ValueError(f"round_to_int: pred must be a 2-D tensor (N, D), got {shape}")
    if dim is not None:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 1 <= dim <= pred.shape[1]:
            raise ValueError(f"round_to_int: dim={dim!r} out of range; expected 1 ≤ dim ≤ "
                             f"{pred.shape[1]} (the number of columns of pred)")
        pred = pred[:, :dim]
    p = pred.detach().cpu().double()
    r = torch.round(p)
    r = torch.where(torch.isfinite(r), r, torch.full_like(r, _INVALID))
    return r.clamp(-2.0 ** 62, 2.0 ** 62).to(torch.int64)


def _rows(t: torch.Tensor, fn: str) -> int:
    if not isinstance(t, torch.Tensor) or t.dim() != 2 or t.shape[0] == 0:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"{fn}: expected a non-empty 2-D tensor (N, D), got {shape}")
    return t.shape[0]


def exact_match(pred: torch.Tensor, target: torch.Tensor, dim: Optional[int] = None) -> float:
    """The honest accuracy: fraction of rows with round(pred) == target in every coordinate.

    Args:
        pred: (N, D') model outputs; target: (N, D') true encodings, original integer units.
        dim: compare only the first ``dim`` columns (pass ``bij.dim``): padded columns are
            **ignored**, not required to be 0. None compares all columns.

    >>> exact_match(torch.tensor([[0.9, 2.2], [1.0, 1.0]]), torch.tensor([[1., 2.], [1., 2.]]))
    0.5
    """
    _rows(pred, "exact_match")
    _rows(target, "exact_match")
    if pred.shape != target.shape:
        raise ValueError(f"exact_match: pred has shape {tuple(pred.shape)} but target has "
                         f"{tuple(target.shape)}; they must match")
    p, t = round_to_int(pred, dim), round_to_int(target, dim)
    return float((p == t).all(dim=1).double().mean())


def _side(side, fn: str) -> str:
    if side not in ("x", "y"):
        raise ValueError(f"{fn}: side={side!r}; expected 'y' (outputs of the forward map) "
                         "or 'x' (outputs of the inverse map)")
    return side


def _valid_mask(pred: torch.Tensor, bij: Bijection, side: str, fn: str) -> np.ndarray:
    """(N,) bool: rounded rows (first D columns) that encode a member of the family."""
    _rows(pred, fn)
    if pred.shape[1] < bij.dim:
        raise ValueError(f"{fn}: pred has {pred.shape[1]} columns; expected at least "
                         f"D = {bij.dim} for {bij.name!r}")
    return bij.valid_rows(round_to_int(pred, bij.dim), side)


def valid_fraction(pred: torch.Tensor, bij, side: str = "y") -> float:
    """Fraction of rounded rows that encode a member of the family on ``side``.

    ``side="y"`` for outputs of the forward map (should be members of B), ``"x"`` for
    outputs of the inverse map. Only the first ``bij.dim`` columns are read.

    >>> valid_fraction(torch.tensor([[2., 0., 0.], [2.2, 1.9, 0.]]), get_bijection("lehmer", n=3))
    0.5
    """
    bij = _as_bijection(bij, "valid_fraction")
    return float(_valid_mask(pred, bij, _side(side, "valid_fraction"), "valid_fraction").mean())


def injectivity(pred: torch.Tensor, dim: Optional[int] = None) -> float:
    """Number of distinct rounded rows / N (1.0 iff the rounded map is injective on these rows).

    Only the first ``dim`` columns count (None: all).

    >>> injectivity(torch.tensor([[0.1, 1.], [0., 1.2], [1., 1.]]))
    0.6666666666666666
    """
    n = _rows(pred, "injectivity")
    rows = np.ascontiguousarray(round_to_int(pred, dim).numpy())
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    return len(np.unique(as_bytes)) / n          # distinct rows


def is_bijective(pred: torch.Tensor, bij, side: str = "y") -> bool:
    """Is the learned (rounded) map a bijection A → B (side "y") or B → A (side "x")?

    ``pred`` must hold the outputs on the **whole** set, one row per element (the rows of
    :func:`make_dataset`). Then "every rounded output valid" plus "injective" means the
    map sends N elements to N distinct members of a family of size N: a bijection.
    """
    bij = _as_bijection(bij, "is_bijective")
    side = _side(side, "is_bijective")
    if _rows(pred, "is_bijective") != bij.cardinality:
        raise ValueError(f"is_bijective: pred has {pred.shape[0]} rows; bijectivity is a property "
                         f"of the map on the whole set, expected N = {bij.cardinality} rows")
    return (valid_fraction(pred, bij, side) == 1.0) and (injectivity(pred, bij.dim) == 1.0)


def decode_predictions(pred: torch.Tensor, bij, side: str = "y") -> list:
    """Rounded rows as objects of the family on ``side``; None where a row is invalid.

    >>> decode_predictions(torch.tensor([[1.1, 0.8, 0.], [9., 0., 0.]]), get_bijection("lehmer", n=3))
    [(1, 1, 0), None]
    """
    bij = _as_bijection(bij, "decode_predictions")
    side = _side(side, "decode_predictions")
    ok = _valid_mask(pred, bij, side, "decode_predictions")
    rows = round_to_int(pred, bij.dim).numpy().tolist()
    return [bij._dec[side](tuple(r)) if good else None for r, good in zip(rows, ok)]


def _owning_module(fn) -> Optional[nn.Module]:
    if isinstance(fn, nn.Module):
        return fn
    owner = getattr(fn, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


def _predict(fn: Callable, X: torch.Tensor, device, dtype, what: str) -> torch.Tensor:
    """fn(X) in eval mode, without gradients, on the module's device; returned on the CPU."""
    module = _owning_module(fn)
    params = next(iter(module.parameters()), None) if module is not None else None
    if device is None:
        device = params.device if params is not None else torch.device("cpu")
    if dtype is None:
        dtype = params.dtype if params is not None and params.is_floating_point() else torch.float32
    was_training = module is not None and module.training
    if was_training:
        module.eval()
    try:
        with torch.no_grad():
            out = fn(X.to(device=device, dtype=dtype))
    finally:
        if was_training:
            module.train()
    if isinstance(out, (tuple, list)):      # e.g. (y, log_det)
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.shape != X.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"evaluate: {what} returned {shape}; expected a tensor of the input's "
                         f"shape {tuple(X.shape)}")
    return out.detach().cpu()


def evaluate(bij, forward_fn: Callable, inverse_fn: Optional[Callable] = None, *,
             indices=None, pad_to: Optional[int] = None, device=None,
             dtype: Optional[torch.dtype] = None) -> dict:
    """Honest evaluation of a learned map (and optionally its inverse) on a bijection.

    The model is run on the whole set once (``make_dataset(bij, pad_to)``). Then

    * ``forward_exact`` = exact_match(forward_fn(X), Y) and ``valid_forward`` =
      valid_fraction(forward_fn(X), bij, "y") on the rows ``indices`` (default: all;
      pass the held-out indices from :func:`train_test_split`);
    * ``inverse_exact``, ``valid_inverse`` likewise for inverse_fn(Y) against X;
    * ``injective_forward`` / ``injective_inverse`` (:func:`injectivity`) and
      ``bijective_forward`` / ``bijective_inverse`` (:func:`is_bijective`) always on the
      **whole** set, since bijectivity is a property of the whole map;
    * ``bijective`` = bijective_forward, and bijective_inverse too when inverse_fn is given.

    Inverse keys are None without ``inverse_fn``. Only the first ``bij.dim`` output
    columns are read; padding columns are ignored. A function returning a tuple, e.g.
    ``(y, log_det)``, is read at its first element. Modules are switched to eval mode and
    back; ``device``/``dtype`` default to those of the module's parameters (CPU/float32).

    Returns:
        dict with keys forward_exact, inverse_exact, valid_forward, valid_inverse,
        injective_forward, injective_inverse, bijective_forward, bijective_inverse,
        bijective, n_eval, n_total.

    >>> X, Y = make_dataset("subsets")
    >>> r = evaluate("subsets", table_predictor(X, Y), table_predictor(Y, X))
    >>> r["forward_exact"], r["inverse_exact"], r["bijective"]
    (1.0, 1.0, True)
    """
    bij = _as_bijection(bij, "evaluate")
    X, Y = make_dataset(bij, pad_to=pad_to)
    N, D = X.shape[0], bij.dim
    if indices is None:
        idx = torch.arange(N)
    else:
        idx = torch.as_tensor(indices).reshape(-1).long()
        if idx.numel() == 0 or idx.min() < 0 or idx.max() >= N:
            raise ValueError(f"evaluate: indices must be a non-empty set of row numbers in "
                             f"0..{N - 1}, got {idx.numel()} indices")
    out: dict = {"n_eval": int(idx.numel()), "n_total": N}
    for key, fn, inp, target, side in (("forward", forward_fn, X, Y, "y"),
                                       ("inverse", inverse_fn, Y, X, "x")):
        if fn is None:
            out.update({f"{key}_exact": None, f"valid_{key}": None,
                        f"injective_{key}": None, f"bijective_{key}": None})
            continue
        pred = _predict(fn, inp, device, dtype, f"{key}_fn")
        ok = _valid_mask(pred, bij, side, "evaluate")
        out[f"{key}_exact"] = exact_match(pred[idx], target[idx], dim=D)
        out[f"valid_{key}"] = float(ok[idx.numpy()].mean())       # = valid_fraction(pred[idx])
        out[f"injective_{key}"] = injectivity(pred, D)
        out[f"bijective_{key}"] = bool(ok.all()) and out[f"injective_{key}"] == 1.0  # = is_bijective
    out["bijective"] = out["bijective_forward"] and (inverse_fn is None or out["bijective_inverse"])
    return out


def roundtrip_match(x: torch.Tensor, x_rec: torch.Tensor, dim: Optional[int] = None) -> float:
    """Fraction of rows with round(x_rec) == round(x): **NOT an accuracy.**

    ``x_rec = f⁻¹(f(x))`` for an INN f is x up to float error *for any weights*, untrained
    or random, so this is ≈ 1.0 whatever the network has learned. It is the number the
    "Learning Bijections" project reported as 89 % accuracy; the lab computes it only to
    show the pitfall. Measure :func:`exact_match` of f(x) against the true φ(x) instead.

    >>> g = torch.Generator().manual_seed(0)
    >>> A = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64, generator=g))[0]  # random, invertible
    >>> X, Y = make_dataset("lehmer", dtype=torch.float64)
    >>> roundtrip_match(X, (X @ A) @ A.T)                 # "100 %": says nothing
    1.0
    >>> exact_match(X @ A, Y) < 0.01                      # the honest number
    True
    """
    _rows(x, "roundtrip_match")
    _rows(x_rec, "roundtrip_match")
    if x.shape != x_rec.shape:
        raise ValueError(f"roundtrip_match: x has shape {tuple(x.shape)} but x_rec has "
                         f"{tuple(x_rec.shape)}; they must match")
    return float((round_to_int(x, dim) == round_to_int(x_rec, dim)).all(dim=1).double().mean())


def table_predictor(inputs: torch.Tensor, outputs: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A lookup-table "model": maps each row of ``inputs`` to the same row of ``outputs``.

    The perfect predictor, to show what the metrics give at the top (rows are matched
    after rounding; a row not in the table gives NaN, which every metric counts as wrong).

    >>> f = table_predictor(torch.tensor([[0., 1.], [1., 0.]]), torch.tensor([[5., 5.], [6., 6.]]))
    >>> f(torch.tensor([[1.1, 0.], [3., 3.]]))
    tensor([[6., 6.],
            [nan, nan]])
    """
    _rows(inputs, "table_predictor")
    if inputs.shape[0] != outputs.shape[0]:
        raise ValueError(f"table_predictor: inputs has {inputs.shape[0]} rows but outputs has "
                         f"{outputs.shape[0]}; they must match")
    keys = [tuple(r) for r in round_to_int(inputs).numpy().tolist()]
    table = dict(zip(keys, range(len(keys))))
    outputs = outputs.detach().cpu()

    def predict(x: torch.Tensor) -> torch.Tensor:
        rows = [table.get(tuple(r), -1) for r in round_to_int(x).numpy().tolist()]
        idx = torch.tensor(rows, dtype=torch.long)
        res = outputs[idx.clamp(min=0)].to(x.dtype).clone()
        res[idx < 0] = float("nan")
        return res.to(x.device)

    return predict
