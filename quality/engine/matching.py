"""One-to-one matching of boxes per labeler pair, optimal where candidates compete."""

from __future__ import annotations

import itertools

import numpy as np


def match_edges(
    i: np.ndarray, j: np.ndarray, iou: np.ndarray, lab: np.ndarray, kmax: int, n_boxes: int
) -> np.ndarray:
    """Choose a one-to-one matching per labeler pair among candidate edges.

    Edges (i, j) join boxes of different labelers with IoU >= match_iou. A *port* is a box seen
    from one other labeler (box * kmax + that labeler); within a labeler pair the matching must
    use each port at most once. Edges whose two ports have no other edge are taken directly
    (the common case). The rest form small competing components: a star (all edges share one
    port) takes its best edge; anything else is solved by the Hungarian algorithm maximising
    the summed IoU. Ties fall to the lower canonical box index, so the result is deterministic.
    Returns a boolean mask over the edges.
    """
    n_edges = len(i)
    chosen = np.zeros(n_edges, dtype=bool)
    if n_edges == 0:
        return chosen
    ports = np.concatenate([i * kmax + lab.take(j), j * kmax + lab.take(i)])
    degree = np.bincount(ports, minlength=n_boxes * kmax).take(ports)
    edge_degree = np.maximum(degree[:n_edges], degree[n_edges:])
    direct = edge_degree == 1
    chosen[direct] = True
    competing = np.flatnonzero(~direct)
    if len(competing) == 0:
        return chosen
    # scipy on first use, here: the models import the engine (its near-duplicate bands) and
    # every Django process would load ~40 MB of scipy it may never use.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    # Components of the competing edges (few), on their ports.
    both = np.concatenate([ports.take(competing), ports.take(competing + n_edges)])
    ports, inverse = np.unique(both, return_inverse=True)
    m = len(competing)
    graph = coo_matrix((np.ones(m), (inverse[:m], inverse[m:])), shape=(len(ports), len(ports)))
    _, port_comp = connected_components(graph, directed=False)
    comp = port_comp[inverse[:m]]
    n_comp = int(comp.max()) + 1
    comp_edges = np.bincount(comp, minlength=n_comp)
    comp_max_degree = np.zeros(n_comp, dtype=np.int64)
    np.maximum.at(comp_max_degree, comp, edge_degree[competing])
    star = comp_max_degree[comp] == comp_edges[comp]

    # Stars: the best edge wins (highest IoU, then lowest box indices).
    s = competing[star]
    if len(s):
        order = np.lexsort((j[s], i[s], -iou[s], comp[star]))
        s_comp = comp[star][order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = s_comp[1:] != s_comp[:-1]
        chosen[s[order[first]]] = True

    # Everything else: exact search over all matchings for small components (vectorised),
    # the Hungarian algorithm per component for bigger ones (both rare in real data).
    rest = competing[~star]
    if len(rest):
        rest_comp = comp[~star]
        order = np.lexsort((rest, rest_comp))
        rest, rest_comp = rest[order], rest_comp[order]
        picked, big, big_comp = _solve_small(rest, rest_comp, i, j, iou, lab)
        chosen[picked] = True
        # The bigger components, one Hungarian problem each (edges arrive sorted by component).
        if len(big):
            bounds = np.flatnonzero(np.diff(big_comp)) + 1
            for edges in np.split(big, bounds):
                chosen[_hungarian(edges, i, j, iou, lab)] = True
    return chosen


SMALL = 4
_PERMUTATIONS = np.array(list(itertools.permutations(range(SMALL))), dtype=np.int64)


def _orient(edges, i, j, lab):
    """Endpoints of edges as (box of the lower labeler, box of the higher labeler)."""
    flip = lab[i[edges]] > lab[j[edges]]
    return np.where(flip, j[edges], i[edges]), np.where(flip, i[edges], j[edges])


def _solve_small(edges, comp, i, j, iou, lab):
    """Best matching of every component with at most SMALL boxes a side, by trying them all.

    ``edges`` are sorted by component. Returns (chosen edges, edges of the bigger components and
    their components, still sorted by component).
    The permutations are tried in a fixed order and the first best one wins, so ties are
    settled deterministically by the canonical box order.
    """
    left, right = _orient(edges, i, j, lab)
    starts = np.flatnonzero(np.r_[True, comp[1:] != comp[:-1]])
    comp_of_edge = np.cumsum(np.r_[True, comp[1:] != comp[:-1]]) - 1
    # Rank of each endpoint among its side's distinct boxes within the component.
    row = _rank_within(comp_of_edge, left)
    col = _rank_within(comp_of_edge, right)
    n_rows = np.zeros(len(starts), dtype=np.int64)
    n_cols = np.zeros(len(starts), dtype=np.int64)
    np.maximum.at(n_rows, comp_of_edge, row + 1)
    np.maximum.at(n_cols, comp_of_edge, col + 1)
    fits = (n_rows <= SMALL) & (n_cols <= SMALL)
    edge_fits = fits[comp_of_edge]
    f_comp = comp_of_edge[edge_fits]
    ids, f_comp = np.unique(f_comp, return_inverse=True)
    weight = np.zeros((len(ids), SMALL, SMALL))
    weight[f_comp, row[edge_fits], col[edge_fits]] = iou[edges[edge_fits]]
    edge_at = np.full((len(ids), SMALL, SMALL), -1, dtype=np.int64)
    edge_at[f_comp, row[edge_fits], col[edge_fits]] = edges[edge_fits]
    rows = np.arange(SMALL)
    totals = weight[:, rows[None, :], _PERMUTATIONS].sum(axis=2)  # (components, permutations)
    best = _PERMUTATIONS[np.argmax(totals, axis=1)]
    picked = edge_at[np.arange(len(ids))[:, None], rows[None, :], best].reshape(-1)
    return picked[picked >= 0], edges[~edge_fits], comp[~edge_fits]


def _rank_within(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Dense rank of value within its group (groups sorted ascending in ``group``)."""
    order = np.lexsort((value, group))
    g, v = group[order], value[order]
    new = np.r_[True, (g[1:] != g[:-1]) | (v[1:] != v[:-1])]
    dense = np.cumsum(new) - 1
    group_start = np.r_[True, g[1:] != g[:-1]]
    first_dense = np.maximum.accumulate(np.where(group_start, dense, 0))
    rank = np.empty(len(value), dtype=np.int64)
    rank[order] = dense - first_dense
    return rank


def _hungarian(
    edges: np.ndarray, i: np.ndarray, j: np.ndarray, iou: np.ndarray, lab: np.ndarray
) -> np.ndarray:
    """Maximum-IoU one-to-one matching of one competing component; returns chosen edges."""
    from scipy.optimize import linear_sum_assignment  # on first use, as in match_edges

    # Orient every edge from the lower labeler to the higher (a component has one pair).
    left, right = _orient(edges, i, j, lab)
    rows, r = np.unique(left, return_inverse=True)
    cols, c = np.unique(right, return_inverse=True)
    weight = np.zeros((len(rows), len(cols)))
    weight[r, c] = iou[edges]
    where = -np.ones((len(rows), len(cols)), dtype=np.int64)
    where[r, c] = edges
    row_ind, col_ind = linear_sum_assignment(weight, maximize=True)
    picked = where[row_ind, col_ind]
    return picked[picked >= 0]
