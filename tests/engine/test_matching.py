"""match_edges is a maximum-weight one-to-one matching per labeler pair, for every component size.

Checked against scipy's linear_sum_assignment on random bipartite graphs up to 30 x 30, sparse
and dense, with tied weights, and on the paths that used to defeat it (a 5 x 5 path of edges
took every edge before components were split by component rather than by edge).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from quality.engine.matching import match_edges

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def path_edges(k: int):
    """Left boxes 0..k-1 (labeler 0), right boxes k..2k-1 (labeler 1): l0-r0-l1-r1-...-r(k-1)."""
    i, j = [], []
    for t in range(k):
        i.append(t)
        j.append(k + t)
        if t + 1 < k:
            i.append(t + 1)
            j.append(k + t)
    return np.array(i), np.array(j)


def check_matching(i, j, iou, lab, chosen):
    """One-to-one per labeler pair: no box in two chosen edges towards the same labeler."""
    ports = np.concatenate([i[chosen] * 8 + lab[j[chosen]], j[chosen] * 8 + lab[i[chosen]]])
    assert len(np.unique(ports)) == len(ports), "a box was matched twice to one labeler"


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 9, 30])
def test_a_path_of_equal_edges_gets_a_perfect_matching(k):
    i, j = path_edges(k)
    lab = np.array([0] * k + [1] * k)
    chosen = match_edges(i, j, np.full(len(i), 0.6), lab, 2, 2 * k)
    check_matching(i, j, np.full(len(i), 0.6), lab, chosen)
    assert chosen.sum() == k


def bipartite(draw_rows, draw_cols, density, weights, seed):
    rng = np.random.default_rng(seed)
    present = rng.random((draw_rows, draw_cols)) < density
    rows, cols = np.nonzero(present)
    w = rng.choice(np.asarray(weights), size=len(rows))
    return rows, cols, w


@SETTINGS
@given(
    rows=st.integers(1, 30),
    cols=st.integers(1, 30),
    density=st.sampled_from([0.05, 0.1, 0.2, 0.5, 1.0]),
    weights=st.sampled_from(
        [[0.6], [0.5, 0.75, 1.0], [0.5, 0.5000001], list(np.linspace(0.5, 1.0, 11)), None]
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_match_edges_is_a_maximum_weight_matching(rows, cols, density, weights, seed):
    if weights is None:  # continuous weights, no ties
        weights = np.random.default_rng(seed + 1).uniform(0.5, 1.0, 64)
    r, c, w = bipartite(rows, cols, density, weights, seed)
    # Left boxes 0..rows-1 are labeler 0, right boxes rows.. are labeler 1.
    i, j = r, rows + c
    lab = np.array([0] * rows + [1] * cols)
    chosen = match_edges(i, j, w, lab, 2, rows + cols)
    check_matching(i, j, w, lab, chosen)
    dense = np.zeros((rows, cols))
    dense[r, c] = w
    best_r, best_c = linear_sum_assignment(dense, maximize=True)
    assert w[chosen].sum() == pytest.approx(dense[best_r, best_c].sum(), abs=1e-9)


@SETTINGS
@given(
    sizes=st.lists(st.integers(1, 12), min_size=3, max_size=3),
    density=st.sampled_from([0.1, 0.3, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_each_labeler_pair_is_matched_optimally_on_its_own(sizes, density, seed):
    """Three labelers: the edges of each pair form their own problem, solved optimally."""
    rng = np.random.default_rng(seed)
    offsets = np.cumsum([0, *sizes])
    lab = np.repeat(np.arange(3), sizes)
    i_all, j_all, w_all = [], [], []
    for a, b in ((0, 1), (0, 2), (1, 2)):
        present = rng.random((sizes[a], sizes[b])) < density
        r, c = np.nonzero(present)
        i_all.append(offsets[a] + r)
        j_all.append(offsets[b] + c)
        w_all.append(rng.choice([0.5, 0.7, 0.9, 1.0], size=len(r)))
    i, j, w = (np.concatenate(x) for x in (i_all, j_all, w_all))
    order = rng.permutation(len(i))
    i, j, w = i[order], j[order], w[order]
    chosen = match_edges(i, j, w, lab, 3, int(offsets[-1]))
    check_matching(i, j, w, lab, chosen)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        pair = (lab[i] == a) & (lab[j] == b)
        dense = np.zeros((sizes[a], sizes[b]))
        dense[i[pair] - offsets[a], j[pair] - offsets[b]] = w[pair]
        best_r, best_c = linear_sum_assignment(dense, maximize=True)
        assert w[chosen & pair].sum() == pytest.approx(dense[best_r, best_c].sum(), abs=1e-9)


def test_match_edges_is_deterministic_under_edge_order():
    rng = np.random.default_rng(7)
    r, c, w = bipartite(12, 12, 0.4, [0.5, 0.75, 1.0], 7)
    i, j = r, 12 + c
    lab = np.array([0] * 12 + [1] * 12)
    chosen = match_edges(i, j, w, lab, 2, 24)
    picked = {(a, b) for a, b in zip(i[chosen].tolist(), j[chosen].tolist(), strict=True)}
    for _ in range(5):
        order = rng.permutation(len(i))
        again = match_edges(i[order], j[order], w[order], lab, 2, 24)
        assert {
            (a, b) for a, b in zip(i[order][again].tolist(), j[order][again].tolist(), strict=True)
        } == picked
