"""From pairwise matches to objects: at most one box per labeler in each object."""

from __future__ import annotations

import numpy as np


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected component of each of n nodes joined by edges (i, j)."""
    # scipy on first use: see quality.engine.matching.match_edges.
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

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


def duplicate_extras(
    n: int,
    dup_i: np.ndarray,
    dup_j: np.ndarray,
    cand_i: np.ndarray,
    cand_j: np.ndarray,
    cand_iou: np.ndarray,
    lab: np.ndarray,
    kmax: int,
) -> np.ndarray:
    """Boxes that only repeat another box of the same labeler (a duplicate), as a mask.

    Duplicate edges join two boxes of one labeler with IoU >= match_iou: by the definition of
    match_iou they are one object boxed twice. Each group of such boxes keeps one box, the one
    that agrees best with the other labelers (the sum over the other labelers of its best
    candidate IoU with each; ties to the lowest canonical index), and the rest are extras,
    decided *before* matching: an extra takes no part in matching, objects or any flag but
    'duplicate', so a copy can neither split the object between two boxes nor look like a
    missed object or a group.
    """
    extra = np.zeros(n, dtype=bool)
    if len(dup_i) == 0:
        return extra
    nodes, inverse = np.unique(np.concatenate([dup_i, dup_j]), return_inverse=True)
    m = len(dup_i)
    group = components(len(nodes), inverse[:m], inverse[m:])
    # Best candidate IoU of each duplicate box towards each other labeler, summed per box.
    is_node = np.zeros(n, dtype=bool)
    is_node[nodes] = True
    fit = np.zeros(len(nodes))
    for a, b in ((cand_i, cand_j), (cand_j, cand_i)):
        sel = np.flatnonzero(is_node.take(a))
        if len(sel) == 0:
            continue
        port = a.take(sel) * kmax + lab.take(b.take(sel))
        ports, at = np.unique(port, return_inverse=True)
        best = np.zeros(len(ports))
        np.maximum.at(best, at, cand_iou.take(sel))
        np.add.at(fit, np.searchsorted(nodes, ports // kmax), best)
    # Per group: highest fit, then lowest box index (nodes are sorted ascending).
    order = np.lexsort((nodes, -fit, group))
    keep = order[np.r_[True, group[order][1:] != group[order][:-1]]]
    extra[nodes] = True
    extra[nodes[keep]] = False
    return extra


def labeler_masks(obj: np.ndarray, lab: np.ndarray, kmax: int, size: int = 0) -> np.ndarray:
    """Bit mask of the (image-local) labelers of each object id (boxes with obj -1 left out),
    over at least ``size`` ids (so that ids of left-out boxes index it too, as 0)."""
    live = np.flatnonzero(obj >= 0)
    size = max(size, int(obj.max()) + 1 if len(obj) else 0)
    bits = np.left_shift(1, lab.take(live))
    if kmax <= 52:
        # An object has at most one box per labeler: distinct powers of two add up exactly.
        return np.bincount(obj.take(live), weights=bits, minlength=size).astype(np.int64)
    mask = np.zeros(size, dtype=np.int64)
    np.bitwise_or.at(mask, obj.take(live), bits)
    return mask


def merged_masks(masks: np.ndarray, remap: np.ndarray, kmax: int) -> np.ndarray:
    """Labeler masks after merging objects (``remap``: old id -> new id) that share no labeler."""
    if kmax <= 52:
        return np.bincount(remap, weights=masks, minlength=len(masks)).astype(np.int64)
    out = np.zeros(len(masks), dtype=np.int64)
    np.bitwise_or.at(out, remap, masks)
    return out


def loose_candidates(
    comp: np.ndarray,
    masks: np.ndarray,
    extra: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    box_set: np.ndarray,
    label: np.ndarray,
) -> np.ndarray:
    """Of the box pairs (i, j) overlapping in the loose band, those that could join two objects
    in loose_merge: different labelers, one class, no duplicate copy, two objects that share no
    labeler (``masks``: labelers per object id). Returns their positions in (i, j)."""
    keep = np.flatnonzero(
        (box_set.take(i) != box_set.take(j))
        & (label.take(i) == label.take(j))
        & ~extra.take(i)
        & ~extra.take(j)
    )
    if len(keep) == 0:
        return keep
    ci, cj = comp.take(i.take(keep)), comp.take(j.take(keep))
    return keep[(masks.take(ci) & masks.take(cj)) == 0]


def loose_merge(
    comp: np.ndarray,
    masks: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    iou: np.ndarray,
    excluded: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Join objects that are one object boxed very differently: same class, loose overlap.

    Edges (i, j) come from loose_candidates: box pairs of different labelers and one class whose
    IoU is under match_iou but at least the loose threshold, in two objects that share no
    labeler. Such objects are one object (a loose box of it, not an object missed by each
    side): they merge, best IoU first, while they still share no labeler. Boxes in
    ``excluded`` (a group's big box) never merge this way. Returns the new component of every
    box (merged parts take the lower id) and the map from old ids to new ones.
    """
    remap = np.arange(len(masks), dtype=np.int64)
    keep = np.flatnonzero(~excluded.take(i) & ~excluded.take(j))
    if len(keep) == 0:
        return comp, remap
    ci, cj = comp.take(i.take(keep)), comp.take(j.take(keep))
    a, b = np.minimum(ci, cj), np.maximum(ci, cj)
    # Greedily, best IoU first (then lowest ids): deterministic whatever the input order.
    order = np.lexsort((b, a, -iou.take(keep)))
    parent: dict[int, int] = {}
    merged: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for x, y in zip(a[order].tolist(), b[order].tolist(), strict=True):
        x, y = find(x), find(y)
        if x == y:
            continue
        mx, my = merged.get(x, int(masks[x])), merged.get(y, int(masks[y]))
        if mx & my:
            continue
        low, high = (x, y) if x < y else (y, x)
        parent[high] = low
        merged[low] = mx | my
    if not parent:
        return comp, remap
    for x in parent:
        remap[x] = find(x)
    return remap.take(comp), remap


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
