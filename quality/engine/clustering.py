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
    # Union-find over the boxes of the bad components only, on local ids (nodes is sorted, so
    # comparing local ids compares box indices): each part's root is its lowest box.
    nodes = np.flatnonzero(bad_comp[comp])
    parent = list(range(len(nodes)))
    labelers = np.left_shift(1, lab[nodes]).tolist()

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    local_i = np.searchsorted(nodes, i[edges]).tolist()
    local_j = np.searchsorted(nodes, j[edges]).tolist()
    for a, b in zip(local_i, local_j, strict=True):
        a, b = find(a), find(b)
        if a != b and not labelers[a] & labelers[b]:
            low, high = (a, b) if a < b else (b, a)
            parent[high] = low
            labelers[low] |= labelers[high]
    # Every node's root, by pointer jumping in numpy.
    root = np.asarray(parent, dtype=np.int64)
    while True:
        up = root[root]
        if np.array_equal(up, root):
            break
        root = up
    comp = comp.copy()
    # Split parts get fresh ids past the existing ones, keyed by their root box.
    comp[nodes] = n_comp + nodes[root]
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
    np.minimum.at(first, comp.take(keep), keep)
    live_ids = np.flatnonzero(first < n)
    live_first = first.take(live_ids)
    # A box is the first box of at most one object: counting the first boxes up to each box
    # ranks the objects by their first box, with no sort.
    is_first = np.zeros(n, dtype=bool)
    is_first[live_first] = True
    rank = np.cumsum(is_first) - 1
    new_id = np.full(n_comp, -1, dtype=np.int64)
    new_id[live_ids] = rank.take(live_first)
    obj = new_id.take(comp)
    obj[extra] = -1
    return obj, len(live_ids)
