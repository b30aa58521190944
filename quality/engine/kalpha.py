"""K-alpha: Krippendorff's alpha for boxes (Tschirschwitz et al. 2022), as kalphacv computes it.

Per image, a reliability matrix of labelers x units is built by matching boxes: the labelers
are taken in name order; each new labeler's boxes are matched (Hungarian on 1 - IoU, a match
needs 1 - IoU < 1 - threshold) against the units already filled by each earlier labeler in turn,
where the new labeler has no box yet; boxes left over open new units. A labeler without a box
in a unit gets the filler class. Nominal alpha (the ``krippendorff`` package) over that matrix
is the image's alpha; one class only gives 1, an undefined alpha gives 0, values are rounded
to 4 places - all as in the reference implementation ``kalphacv``. The mean over images is K-alpha.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import krippendorff
import numpy as np

from .batch import BoxBatch
from .geometry import canonical_order, iou_matrix_xywh, overlapping_pairs, sweep_keys
from .types import LabelSet

DEFAULT_THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(1, 10))


class KAlpha(NamedTuple):
    mean: float  # mean over images; NaN for no image
    per_image: list[float]


def _as_batch(images) -> BoxBatch:
    return images if isinstance(images, BoxBatch) else BoxBatch.from_label_sets(images)


def kalpha(
    images: Iterable[Sequence[LabelSet]] | BoxBatch,
    match_iou: float = 0.5,
    *,
    exclude: str | None = None,
) -> KAlpha:
    """K-alpha of many images at one IoU threshold; ``exclude`` leaves one labeler out."""
    per_image = _batched_alphas(_prepare(_as_batch(images), exclude), match_iou)
    mean = sum(per_image) / len(per_image) if per_image else math.nan
    return KAlpha(mean, per_image)


def alpha_sweep(
    images: Iterable[Sequence[LabelSet]] | BoxBatch,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
) -> dict[float, float]:
    """Mean K-alpha for each IoU threshold (default 0.1, 0.2, ..., 0.9)."""
    prepared = _prepare(_as_batch(images), None)  # overlaps found once for every threshold
    out = {}
    for t in thresholds:
        values = _batched_alphas(prepared, t)
        out[t] = sum(values) / len(values) if values else math.nan
    return out


def vitality(
    images: Iterable[Sequence[LabelSet]] | BoxBatch, match_iou: float = 0.5
) -> dict[str, float]:
    """Per labeler: K-alpha with everyone minus K-alpha without them.

    Only images the labeler labeled together with at least two others count (with one other
    left, alpha without them is undefined). Positive: the labeler raises agreement. NaN when
    no image qualifies.
    """
    batch = _as_batch(images)
    counts = np.bincount(batch.set_image, minlength=batch.n_images)
    everyone = None
    out = {}
    for code, name in enumerate(batch.labeler_names):
        with_them = batch.set_image[(batch.set_labeler == code) & (counts[batch.set_image] >= 3)]
        if len(with_them) == 0:
            out[name] = math.nan
            continue
        if everyone is None:
            everyone = _batched_alphas(_prepare(batch, None), match_iou)
        keep = np.zeros(batch.n_images, dtype=bool)
        keep[with_them] = True
        without_all = _batched_alphas(_prepare(batch, name), match_iou, keep)
        all_in = [a for a, k in zip(everyone, keep.tolist(), strict=True) if k]
        without = [a for a, k in zip(without_all, keep.tolist(), strict=True) if k]
        out[name] = sum(all_in) / len(all_in) - sum(without) / len(without)
    return out


# --- batched K-alpha ---------------------------------------------------------------------


class _Prepared(NamedTuple):
    """Boxes of a batch for K-alpha: per image, by labeler, then canonical order."""

    n_images: int
    n_labelers: np.ndarray  # per image (after ``exclude``)
    image: np.ndarray  # per box
    lab: np.ndarray  # per box: image-local labeler index (name order)
    value: np.ndarray  # per box: class code + 1 (0 is the filler class)
    xywh: np.ndarray
    a: np.ndarray  # overlapping cross-labeler pairs, lab[a] < lab[b]
    b: np.ndarray
    iou: np.ndarray  # computed exactly as iou_matrix_xywh(xywh[a], xywh[b])


def _prepare(batch: BoxBatch, exclude: str | None) -> _Prepared:
    """Order the boxes as the per-image reference does and find every overlapping pair once."""
    n_images = batch.n_images
    image_of_row = batch.set_image[batch.box_set]
    key, _ = sweep_keys(image_of_row, batch.xywh)
    n_labels = max(len(batch.label_names), 1)
    order = canonical_order(key, batch.xywh, batch.box_set * n_labels + batch.label)
    order = order[np.argsort(batch.box_set[order], kind="stable")]
    set_ptr = np.searchsorted(batch.set_image, np.arange(n_images + 1))
    n_sets = len(batch.set_image)
    local = np.arange(n_sets, dtype=np.int64) - set_ptr[batch.set_image]
    n_labelers = np.diff(set_ptr).astype(np.int64)
    if exclude is not None and exclude in batch.labeler_names:
        gone = batch.set_labeler == batch.labeler_names.index(exclude)
        gone_local = np.full(n_images, n_sets + 1, dtype=np.int64)
        gone_local[batch.set_image[gone]] = local[gone]
        n_labelers = n_labelers - (gone_local <= n_sets)
        local = local - (local > gone_local[batch.set_image])
        order = order[~gone[batch.box_set[order]]]
    box_set = batch.box_set[order]
    image = batch.set_image[box_set]
    lab = local[box_set]
    xywh = batch.xywh[order]
    value = batch.label[order].astype(np.int64) + 1
    n = len(order)
    # Overlapping pairs by the engine's sweep on x (it needs boxes sorted by its key).
    key, end_key = sweep_keys(image, xywh)
    by_key = np.argsort(key, kind="stable")
    corners = np.empty((4, n))
    corners[:2] = xywh[by_key, :2].T
    corners[2:] = corners[:2] + xywh[by_key, 2:].T
    area = xywh[by_key, 2] * xywh[by_key, 3]
    ov = overlapping_pairs(key[by_key], end_key[by_key], corners, area)
    i, j = by_key[ov.i], by_key[ov.j]
    cross = lab[i] != lab[j]
    i, j = i[cross], j[cross]
    flip = lab[i] > lab[j]
    a, b = np.where(flip, j, i), np.where(flip, i, j)
    return _Prepared(n_images, n_labelers, image, lab, value, xywh, a, b, _pair_iou(xywh, a, b))


def _pair_iou(xywh: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a[k], b[k], with the very float operations of iou_matrix_xywh(rows a)."""
    pa, pb = xywh[a], xywh[b]
    iw = np.minimum(pa[:, 0] + pa[:, 2], pb[:, 0] + pb[:, 2]) - np.maximum(pa[:, 0], pb[:, 0])
    ih = np.minimum(pa[:, 1] + pa[:, 3], pb[:, 1] + pb[:, 3]) - np.maximum(pa[:, 1], pb[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = pa[:, 2] * pa[:, 3] + pb[:, 2] * pb[:, 3] - inter
    return inter / union


def _batched_units(p: _Prepared, threshold: float) -> np.ndarray:
    """Unit of every box (the index of the box that opened it), as kalphacv builds units.

    Labeler k (name order) is matched against the units of each earlier labeler e in turn, for
    every image at once. Where, inside an image, the close pairs of step (k, e) pair boxes one to
    one (every row and column of the restricted cost matrix has a single entry below the
    limit), those pairs are the unique optimum of the reference's Hungarian call (any other
    assignment swaps at least two of them for entries at or above the limit), so they are
    taken directly. Only images where candidates compete run the reference's
    ``linear_sum_assignment`` on the same restricted matrix, in the same row/column order.
    """
    from scipy.optimize import linear_sum_assignment  # on first use: see matching.match_edges

    n = len(p.lab)
    idx = np.arange(n, dtype=np.int64)
    unit = np.where(p.lab == 0, idx, -1)
    limit = 1.0 - threshold
    close = (1.0 - p.iou) < limit
    a, b = p.a[close], p.b[close]
    kmax = int(p.n_labelers.max()) if p.n_images else 0
    step = p.lab[b] * max(kmax, 1) + p.lab[a]
    order = np.argsort(step, kind="stable")
    a, b, step = a[order], b[order], step[order]
    bounds = np.searchsorted(step, np.arange(max(kmax, 1) ** 2 + 1))
    for k in range(1, kmax):
        is_k = p.lab == k
        open_k = is_k.copy()
        has_k = np.zeros(n, dtype=bool)  # per unit
        for e in range(k):
            s = slice(bounds[k * kmax + e], bounds[k * kmax + e + 1])
            ea, eb = a[s], b[s]
            ok = open_k[eb] & ~has_k[unit[ea]]
            ea, eb = ea[ok], eb[ok]
            if len(ea) == 0:
                continue
            deg_a = np.bincount(ea, minlength=n)
            deg_b = np.bincount(eb, minlength=n)
            compete = (deg_a[ea] > 1) | (deg_b[eb] > 1)
            bad = np.zeros(p.n_images, dtype=bool)
            bad[p.image[ea[compete]]] = True
            direct = ~bad[p.image[ea]]
            unit[eb[direct]] = unit[ea[direct]]
            has_k[unit[ea[direct]]] = True
            open_k[eb[direct]] = False
            rest = np.flatnonzero(~direct)
            if len(rest) == 0:
                continue
            rest = rest[np.argsort(p.image[ea[rest]], kind="stable")]
            rest_image = p.image[ea[rest]]
            cuts = np.flatnonzero(np.diff(rest_image)) + 1
            for edges in np.split(rest, cuts):
                row_box = np.unique(ea[edges])
                row_box = row_box[np.argsort(unit[row_box], kind="stable")]  # unit order
                cols = np.unique(eb[edges])
                sub = 1.0 - iou_matrix_xywh(p.xywh[row_box], p.xywh[cols])
                r, c = linear_sum_assignment(sub)
                good = sub[r, c] < limit
                unit[cols[c[good]]] = unit[row_box[r[good]]]
                has_k[unit[row_box[r[good]]]] = True
                open_k[cols[c[good]]] = False
        unit[open_k] = idx[open_k]
    return unit


def _batched_alphas(
    p: _Prepared, threshold: float, wanted: np.ndarray | None = None
) -> list[float]:
    """Per-image K-alpha for all images at once, equal to the per-image reference.

    With every cell of the reliability matrix filled (the filler class stands for "no box"),
    each unit has K values, and nominal alpha reduces to integers per image:
    alpha = 1 - D (N - 1) / ((K - 1) (N^2 - sum_c n_c^2)), where N = units x K, n_c the count
    of value c and D the ordered pairs of different values within units (sum over units of
    K^2 - sum_c m_uc^2). Counts come from bincounts over (unit, value) and (image, value).
    Rounding to 4 places uses Python's round, as the reference; the rare value within 1e-9 of
    a rounding midpoint (where the reference's float summation could fall either side), and
    images with fewer than two labelers, go through the ``krippendorff`` package exactly as
    the reference does. ``wanted`` (a mask over images) limits that slow path; the values of
    other images are then not meaningful.
    """
    n_images = p.n_images
    if n_images == 0:
        return []
    unit = _batched_units(p, threshold)
    n = len(unit)
    K = p.n_labelers
    V = int(p.value.max()) + 1 if n else 1
    creators = np.flatnonzero(unit == np.arange(n))
    unit_image = p.image[creators]
    size = np.bincount(unit, minlength=n)[creators]
    units_per_image = np.bincount(unit_image, minlength=n_images)
    fill_unit = K[unit_image] - size
    keys, counts = np.unique(unit * V + p.value, return_counts=True)
    sq = np.bincount(keys // V, weights=counts.astype(np.float64) ** 2, minlength=n)
    sum_sq_unit = sq[creators].astype(np.int64) + fill_unit**2
    diff_pairs = np.bincount(
        unit_image, weights=(K[unit_image] ** 2 - sum_sq_unit).astype(np.float64),
        minlength=n_images,
    ).astype(np.int64)  # fmt: skip
    fill = units_per_image * K - np.bincount(p.image, minlength=n_images)
    ikeys, icounts = np.unique(p.image * V + p.value, return_counts=True)
    sum_sq = (
        np.bincount(ikeys // V, weights=icounts.astype(np.float64) ** 2, minlength=n_images).astype(
            np.int64
        )
        + fill**2
    )
    distinct = np.bincount(ikeys // V, minlength=n_images) + (fill > 0)
    total = units_per_image * K
    ok = (K >= 2) & (distinct >= 2)
    num = diff_pairs * (total - 1)
    den = (K - 1) * (total * total - sum_sq)
    alpha = np.ones(n_images)
    alpha[ok] = 1.0 - num[ok] / den[ok]
    scaled = alpha * 1e4
    near_midpoint = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-5
    slow = ((K < 2) & (distinct >= 2)) | (ok & near_midpoint)
    if wanted is not None:
        slow &= wanted
    out = [round(v, 4) for v in alpha.tolist()]
    for i in np.flatnonzero(slow).tolist():
        out[i] = _alpha_of(_reliability_data(p, unit, i))
    return out


def _reliability_data(p: _Prepared, unit: np.ndarray, image: int) -> np.ndarray:
    """Labelers x units of values (0: filler) of one image, units in the reference's order."""
    boxes = np.flatnonzero(p.image == image)
    units, column = np.unique(unit[boxes], return_inverse=True)
    data = np.zeros((int(p.n_labelers[image]), len(units)), dtype=np.float64)
    data[p.lab[boxes], column] = p.value[boxes]
    return data


def _alpha_of(data: np.ndarray) -> float:
    """Nominal alpha of a reliability matrix with kalphacv's conventions."""
    if len(np.unique(data)) <= 1:
        return 1.0
    alpha = round(float(krippendorff.alpha(data, level_of_measurement="nominal")), 4)
    return 0.0 if math.isnan(alpha) else alpha


# --- the per-image reference (kept for tests and as documentation) ------------------------


def _reference_kalpha(
    images: Iterable[Sequence[LabelSet]] | BoxBatch,
    match_iou: float = 0.5,
    *,
    exclude: str | None = None,
) -> KAlpha:
    """The original per-image implementation (a Python loop over images); tests compare."""
    batch = _as_batch(images)
    per_image = [_image_alpha(*parts, match_iou) for parts in _images(batch, exclude)]
    mean = sum(per_image) / len(per_image) if per_image else math.nan
    return KAlpha(mean, per_image)


def _images(batch: BoxBatch, exclude: str | None = None):
    """Per image: (xywh, class codes starting at 1, labeler index per box, labeler count)."""
    image = batch.set_image[batch.box_set]
    key, _ = sweep_keys(image, batch.xywh)
    n_labels = max(len(batch.label_names), 1)
    order = canonical_order(key, batch.xywh, batch.box_set * n_labels + batch.label)
    # Within an image: by labeler, then canonical order (the reference uses input order;
    # it matters only for exact ties).
    order = order[np.argsort(batch.box_set[order], kind="stable")]
    skip = -1
    if exclude is not None and exclude in batch.labeler_names:
        skip = batch.labeler_names.index(exclude)
    box_ptr = np.searchsorted(image[order], np.arange(batch.n_images + 1))
    set_ptr = np.searchsorted(batch.set_image, np.arange(batch.n_images + 1))
    for i in range(batch.n_images):
        labelers = batch.set_labeler[set_ptr[i] : set_ptr[i + 1]]
        rows = order[box_ptr[i] : box_ptr[i + 1]]
        local = batch.box_set[rows] - set_ptr[i]
        if skip >= 0 and (labelers == skip).any():
            gone = int(np.flatnonzero(labelers == skip)[0])
            keep = local != gone
            rows, local = rows[keep], local[keep]
            local = local - (local > gone)
            n_labelers = len(labelers) - 1
        else:
            n_labelers = len(labelers)
        yield batch.xywh[rows], batch.label[rows] + 1, local, n_labelers


def _image_alpha(
    xywh: np.ndarray, classes: np.ndarray, labeler: np.ndarray, n_labelers: int, threshold: float
) -> float:
    units = _reliability_matrix(xywh, labeler, n_labelers, threshold)
    data = np.where(units >= 0, classes[np.maximum(units, 0)], 0).astype(np.float64)
    return _alpha_of(data)


def _reliability_matrix(
    xywh: np.ndarray, labeler: np.ndarray, n_labelers: int, threshold: float
) -> np.ndarray:
    """Labelers x units of box indices (-1: no box), built as kalphacv builds it."""
    from scipy.optimize import linear_sum_assignment  # on first use: see matching.match_edges

    boxes_of = [np.flatnonzero(labeler == k) for k in range(n_labelers)]
    if n_labelers == 0:
        return np.zeros((0, 0), dtype=np.int64)
    cost = 1.0 - iou_matrix_xywh(xywh, xywh)
    limit = 1.0 - threshold
    units = np.full((n_labelers, len(boxes_of[0])), -1, dtype=np.int64)
    units[0] = boxes_of[0]
    for k in range(1, n_labelers):
        unmatched = boxes_of[k]
        for earlier in range(k):
            if len(unmatched) == 0:
                break
            cols = np.flatnonzero((units[k] < 0) & (units[earlier] >= 0))
            if len(cols) == 0:
                continue
            sub = cost[np.ix_(units[earlier, cols], unmatched)]
            close = sub < limit
            row_ok, col_ok = close.any(axis=1), close.any(axis=0)
            if not row_ok.any():
                continue
            sub = sub[np.ix_(row_ok, col_ok)]
            r, c = linear_sum_assignment(sub)
            good = sub[r, c] < limit
            units[k, cols[row_ok][r[good]]] = unmatched[col_ok][c[good]]
            unmatched = np.setdiff1d(unmatched, unmatched[col_ok][c[good]])
        if len(unmatched):
            extra = np.full((n_labelers, len(unmatched)), -1, dtype=np.int64)
            extra[k] = unmatched
            units = np.concatenate([units, extra], axis=1)
    return units
