"""From pairwise matches to objects: at most one box per labeler in each object."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected component of each of n nodes joined by edges (i, j)."""
    if len(i) and (np.diff(i) < 0).any():
        order = np.argsort(i, kind="stable")
        i, j = i[order], j[order]
    # Edges sorted by i give the CSR structure directly, with no conversion inside scipy.
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=n), out=indptr[1:])
    graph = csr_matrix((np.ones(len(i)), j, indptr), shape=(n, n))
    return connected_components(graph, directed=True, connection="weak")[1]


def cluster_objects(
    n: int, lab: np.ndarray, kmax: int, i: np.ndarray, j: np.ndarray, iou: np.ndarray
) -> np.ndarray:
    """Object id of every box, from the matched edges (i, j, iou).

    Matches are made per labeler pair, so a chain a1-b1, b1-c1, c1-a2 can put two boxes of one
    labeler into one connected component. Such components (rare) are rebuilt greedily: edges in
    order of falling IoU (then box index) join two parts only if the parts share no labeler.
    Returns arbitrary but deterministic ids; singletons get their own id.
    """
    comp = components(n, i, j)
    n_comp = int(comp.max()) + 1 if n else 0
    per_labeler = np.bincount(comp * kmax + lab, minlength=n_comp * kmax)
    bad = np.flatnonzero(per_labeler > 1) // kmax
    if len(bad) == 0:
        return comp
    bad_comp = np.zeros(n_comp, dtype=bool)
    bad_comp[bad] = True
    edges = np.flatnonzero(bad_comp[comp[i]])
    edges = edges[np.lexsort((j[edges], i[edges], -iou[edges]))]
    parent: dict[int, int] = {}
    labelers: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for e in edges.tolist():
        a, b = find(int(i[e])), find(int(j[e]))
        mask_a = labelers.get(a, 1 << int(lab[a]))
        mask_b = labelers.get(b, 1 << int(lab[b]))
        if a != b and not mask_a & mask_b:
            low, high = min(a, b), max(a, b)
            parent[high] = low
            labelers[low] = mask_a | mask_b
    comp = comp.copy()
    nodes = np.flatnonzero(bad_comp[comp])
    roots = np.array([find(int(x)) for x in nodes.tolist()], dtype=np.int64)
    # Split parts get fresh ids past the existing ones, keyed by their root box.
    comp[nodes] = n_comp + roots
    return comp


def duplicate_extras(comp: np.ndarray, dup_i: np.ndarray, dup_j: np.ndarray) -> np.ndarray:
    """Boxes that only repeat another box of the same labeler (a duplicate), as a mask.

    Duplicate edges join two boxes of one labeler with IoU >= match_iou, i < j in canonical
    order. A box is an extra when it matched nobody (its object is itself alone) and its twin
    either matched somebody or comes first. Extras belong to no object, so a duplicate gives
    one 'duplicate' flag and no 'missing' flag for the copy.
    """
    n = len(comp)
    size = np.bincount(comp)[comp] if n else np.zeros(0, dtype=np.int64)
    alone = size == 1
    extra = np.zeros(n, dtype=bool)
    extra[dup_j[alone[dup_j]]] = True
    extra[dup_i[alone[dup_i] & ~alone[dup_j]]] = True
    return extra


def compact_objects(comp: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber objects 0.. in order of their first box (so grouped by image); extras get -1."""
    n = len(comp)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    n_comp = int(comp.max()) + 1
    first = np.full(n_comp, n, dtype=np.int64)
    keep = np.flatnonzero(~extra)
    np.minimum.at(first, comp[keep], keep)
    live = first < n
    new_id = np.full(n_comp, -1, dtype=np.int64)
    order = np.argsort(first[live], kind="stable")
    live_ids = np.flatnonzero(live)[order]
    new_id[live_ids] = np.arange(len(live_ids))
    obj = new_id[comp]
    obj[extra] = -1
    return obj, len(live_ids)
