"""Vectorised box geometry: canonical box order, overlapping pairs, IoU and coverage."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a[k] and b[k], both (n, 4) as x1, y1, x2, y2."""
    iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a + area_b - inter)


def iou_matrix_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of a (n, 4) with every box of b (m, 4), both x, y, w, h."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0][:, None], b[:, 0][None])
    ih = np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1][:, None], b[:, 1][None])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / union


def sweep_keys(image: np.ndarray, xywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys ordering boxes by (image, x1), and the same scale's key of each box's x2."""
    if len(image) == 0:
        return np.zeros(0), np.zeros(0)
    x1 = xywh[:, 0]
    x2 = x1 + xywh[:, 2]
    xmin = float(x1.min())
    # span exceeds every x2 - xmin, so keys of different images never interleave.
    span = float(x2.max()) - xmin + 1.0
    base = image * span - xmin
    return base + x1, base + x2


def canonical_order(key: np.ndarray, xywh: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Permutation sorting boxes by (image, x, y, w, h, tiebreak).

    It depends on the box values only, so the engine's results do not depend on the order in
    which boxes arrive. One argsort on a composite float key does almost all the work; exact
    ties on x inside an image (rare, but common with integer pixels) are settled by a lexsort
    on just the tied boxes.
    """
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # Non-negative doubles sort like their bit patterns read as integers, and integers compare
    # faster: same (stable) order, about a third less time. sweep_keys gives keys >= +0.0.
    bits = key.view(np.int64)
    order = np.argsort(bits if bits.min() >= 0 else key, kind="stable")
    sorted_key = key.take(order)
    tied = sorted_key[1:] == sorted_key[:-1]
    if tied.any():
        in_run = np.zeros(n, dtype=bool)
        in_run[1:] |= tied
        in_run[:-1] |= tied
        pos = np.flatnonzero(in_run)
        # A run starts where the previous position is not tied to this one.
        run_start = np.ones(len(pos), dtype=bool)
        run_start[1:] = ~tied[pos[1:] - 1] | (pos[1:] != pos[:-1] + 1)
        run_id = np.cumsum(run_start)
        boxes = order[pos]
        sub = np.lexsort(
            (
                tiebreak[boxes],
                xywh[boxes, 3],
                xywh[boxes, 2],
                xywh[boxes, 1],
                xywh[boxes, 0],
                run_id,
            )
        )
        order[pos] = boxes[sub]
    return order


# Runs up to this length are counted with whole-array comparisons; longer ones by binary search.
SHORT_RUN = 8


def _run_lengths(key: np.ndarray, end_key: np.ndarray) -> np.ndarray:
    """For each box p (keys sorted): how many boxes q > p have key[q] < end_key[p].

    Those q follow p directly, so the count is the number of steps d >= 1 with
    key[p + d] < end_key[p]. Most runs are short: SHORT_RUN shifted comparisons of the whole
    array count them (cache friendly, no branches), and only runs at least that long are
    measured with a binary search (which on all boxes would cost a cache miss per step).
    """
    n = len(key)
    short = np.zeros(n, dtype=np.int8)
    for d in range(1, min(SHORT_RUN, n - 1) + 1):
        short[:-d] += key[d:] < end_key[:-d]
    counts = short.astype(np.int64)
    long = np.flatnonzero(short == SHORT_RUN)
    counts[long] = np.searchsorted(key, end_key.take(long), side="left") - long - 1
    return counts


class Overlaps(NamedTuple):
    """Pairs (i, j), i < j in canonical order, of boxes of one image that share area."""

    i: np.ndarray
    j: np.ndarray
    inter: np.ndarray
    iou: np.ndarray


def overlapping_pairs(
    key: np.ndarray, end_key: np.ndarray, corners: np.ndarray, area: np.ndarray
) -> Overlaps:
    """All within-image pairs with a positive intersection, by sweep-and-prune on x.

    ``key``/``end_key`` come from ``sweep_keys`` and, like ``corners`` (rows x1, y1, x2, y2)
    and ``area``, are in canonical order (sorted by key). For box p the boxes q > p whose x1
    lies before p's x2 in the same image form a run right after p (``_run_lengths``); only
    those candidates are expanded into pairs, so the work follows the number of boxes that
    overlap on x rather than the square of the boxes per image.
    """
    n = len(key)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Overlaps(empty, empty, np.zeros(0), np.zeros(0))
    x1, y1, x2, y2 = corners
    idx = np.arange(n, dtype=np.int64)
    counts = _run_lengths(key, end_key)
    total = int(counts.sum())
    # One np.repeat (its loop of varying length mispredicts branches); every other per-pair
    # column is a take along i, which is sorted and so cache friendly. The masks below are
    # close to random, so they become indices once and are applied with take (boolean
    # indexing mispredicts a branch per element).
    i = np.repeat(idx, counts)
    first_j = idx + 1 - (np.cumsum(counts) - counts)
    j = np.arange(total, dtype=np.int64) + first_j.take(i)
    ih = np.minimum(y2.take(i), y2.take(j)) - np.maximum(y1.take(i), y1.take(j))
    keep = np.flatnonzero(ih > 0)
    i, j, ih = i.take(keep), j.take(keep), ih.take(keep)
    iw = np.minimum(x2.take(i), x2.take(j)) - x1.take(j)
    keep = np.flatnonzero(iw > 0)
    i, j = i.take(keep), j.take(keep)
    inter = iw.take(keep) * ih.take(keep)
    iou = inter / (area.take(i) + area.take(j) - inter)
    return Overlaps(i, j, inter, iou)
