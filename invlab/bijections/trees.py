"""Labelled trees on [n] and the codes that count them (lab 2): Prüfer sequences and parent
arrays, both directions, on the validity rules of :mod:`.combinatorics`.

A tree is a sorted tuple of edges ``(u, v)`` with u < v on the vertices [n] = {1, …, n};
Cayley's formula, nⁿ⁻² trees, is the bijection with the Prüfer sequences in [n]ⁿ⁻².
No torch here, like :mod:`.combinatorics`.

>>> pruefer_decode(pruefer_code(((1, 2), (2, 3), (2, 4))))
((1, 2), (2, 3), (2, 4))
"""
from __future__ import annotations

import itertools
from typing import List, Optional, Sequence, Tuple

from ..validate import fail_type, fail_value
from .combinatorics import Rule, Vec, _require, in_range, int_tuple, rooted_tree

__all__ = ["tree_problem", "trees_on", "pruefer_code", "pruefer_decode", "tree_parent_array",
           "tree_from_parent_array", "parent_rules"]


def tree_problem(edges: Sequence[Tuple[int, int]], n: int) -> Optional[str]:
    """None if ``edges`` (pairs of ints) form a tree on the vertices [n], else why not."""
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


def trees_on(n: int):
    """Spanning trees of K_n: (n−1)-subsets of its edges without a cycle (sorted edges)."""
    all_edges = list(itertools.combinations(range(1, n + 1), 2))
    for es in itertools.combinations(all_edges, n - 1):
        if tree_problem(es, n) is None:
            yield es


def _tree(edges, fn: str) -> Tuple[Tuple[Tuple[int, int], ...], int]:
    """Validated edges of a tree and its number of vertices n = #edges + 1 ≥ 2."""
    if isinstance(edges, (str, bytes)) or not hasattr(edges, "__iter__"):
        fail_type(fn, "edges", edges, "a sequence of (u, v) pairs")
    es = []
    for i, e in enumerate(edges.tolist() if hasattr(edges, "tolist") else edges):
        pair = int_tuple(e, fn, f"edges[{i}]")
        if len(pair) != 2:
            fail_value(fn, f"edges[{i}]", e, "a pair (u, v)")
        es.append(pair)
    n = len(es) + 1
    if n < 2:
        fail_value(fn, "edges", edges, "the n − 1 ≥ 1 edges of a tree on n ≥ 2 vertices")
    msg = tree_problem(es, n)
    if msg:
        raise ValueError(f"{fn}: edges={tuple(es)} is not a tree on [{n}]: {msg}")
    return tuple(es), n


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


def pruefer_code(edges) -> Vec:
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


def _pruefer_code(es, n: int) -> Vec:
    return tuple([nb for _, nb in _leaf_removal(es, n)[:n - 2]])


def pruefer_decode(seq) -> Tuple[Tuple[int, int], ...]:
    """Prüfer sequence in [n]^(n−2) → labelled tree on [n], as sorted edges (u < v).

    Algorithm: deg(v) = 1 + (times v occurs); for each entry a, join a to the smallest
    vertex of degree 1 and lower both degrees; finally join the last such vertex to n.

    >>> pruefer_decode((4, 4, 4, 5))
    ((1, 4), (2, 4), (3, 4), (4, 5), (5, 6))
    """
    s = int_tuple(seq, "pruefer_decode", "seq")
    return _pruefer_decode(_require("pruefer_decode", "seq", s, [in_range(1, len(s) + 2)]))


def _pruefer_decode(s: Vec) -> Tuple[Tuple[int, int], ...]:
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


def _canonical_tree(edges) -> Tuple[Tuple[int, int], ...]:
    return tuple(sorted((min(u, v), max(u, v)) for u, v in edges))


def tree_parent_array(edges) -> Vec:
    """Tree on [n] → parent array (p_1, …, p_{n−1}) of the tree rooted at vertex n.

    p_v is the neighbour of v on the path from v to n; a fixed-length encoding of trees.
    (The Prüfer leaf removal run n − 1 times writes exactly p_leaf at each step.)

    >>> tree_parent_array([(1, 4), (2, 4), (3, 4), (4, 5), (5, 6)])
    (4, 4, 4, 5, 6)
    """
    es, n = _tree(edges, "tree_parent_array")
    return _parent_array(es, n)


def _parent_array(es, n: int) -> Vec:
    parent = [0] * (n + 1)
    for leaf, nb in _leaf_removal(es, n):
        parent[leaf] = nb
    return tuple(parent[1:n])


def parent_rules(n_minus_1: int) -> List[Rule]:
    """p_v ∈ [n], and every parent chain reaches the root n."""
    return [in_range(1, n_minus_1 + 1), rooted_tree()]


def tree_from_parent_array(parents) -> Tuple[Tuple[int, int], ...]:
    """Parent array rooted at n (see :func:`tree_parent_array`) → tree as sorted edges.

    >>> tree_from_parent_array((4, 4, 4, 5, 6))
    ((1, 4), (2, 4), (3, 4), (4, 5), (5, 6))
    """
    p = int_tuple(parents, "tree_from_parent_array", "parents")
    return _tree_from_parents(_require("tree_from_parent_array", "parents", p,
                                       parent_rules(len(p))))


def _tree_from_parents(par: Vec) -> Tuple[Tuple[int, int], ...]:
    return _canonical_tree((v, p) for v, p in enumerate(par, start=1))
